//! Compiles `catalog.toml` into Rust: the `Permission` enum with its metadata, the `Domain`
//! enum, and the width of the `PermissionSet` bitset. Invalid entries fail the build with the
//! entry's key.

use std::collections::HashSet;
use std::fmt::Write as _;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    domain: Vec<DomainEntry>,
    permission: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainEntry {
    key: String,
    title: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    domain: String,
    title: String,
    description: String,
    #[serde(default)]
    dangerous: bool,
    #[serde(default = "none")]
    printer_access: String,
    planned: Option<String>,
}

fn none() -> String {
    "none".into()
}

fn camel(key: &str) -> String {
    key.split(['.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn fail(message: String) -> ! {
    panic!("catalog.toml: {message}");
}

fn main() {
    println!("cargo::rerun-if-changed=catalog.toml");
    let text = std::fs::read_to_string("catalog.toml").unwrap_or_else(|e| fail(e.to_string()));
    let catalog: Catalog = toml::from_str(&text).unwrap_or_else(|e| fail(e.to_string()));

    let domains: Vec<&str> = catalog.domain.iter().map(|d| d.key.as_str()).collect();
    let mut keys = HashSet::new();
    for entry in &catalog.permission {
        let k = &entry.key;
        if !keys.insert(k.clone()) {
            fail(format!("{k}: duplicate key"));
        }
        let valid = k.split('.').count() >= 2
            && k.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        if !valid {
            fail(format!("{k}: keys look like domain.action, lower case"));
        }
        if !domains.contains(&entry.domain.as_str()) {
            fail(format!("{k}: unknown domain {:?}", entry.domain));
        }
        if !["none", "view", "queue", "print", "manage"].contains(&entry.printer_access.as_str()) {
            fail(format!(
                "{k}: printer_access must be none, view, queue, print or manage"
            ));
        }
        if entry.title.is_empty() || entry.description.is_empty() {
            fail(format!("{k}: title and description are required"));
        }
        if k.ends_with(".own") && !has_all_in_domain(&catalog, &entry.domain) {
            fail(format!(
                "{k}: an .own permission needs an .all permission in its domain"
            ));
        }
    }

    let n = catalog.permission.len();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// Number of permissions in the catalog.\npub const PERMISSION_COUNT: usize = {n};"
    );
    let _ = writeln!(
        out,
        "/// 64-bit words in a [`PermissionSet`].\npub(crate) const WORDS: usize = {};",
        n.div_ceil(64).max(1)
    );

    out.push_str("/// A group of permissions in the permission matrix.\n");
    out.push_str(
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum Domain {\n",
    );
    for d in &catalog.domain {
        let _ = writeln!(out, "    {},", camel(&d.key));
    }
    out.push_str("}\n\nimpl Domain {\n    pub const ALL: &'static [Domain] = &[");
    for d in &catalog.domain {
        let _ = write!(out, "Domain::{}, ", camel(&d.key));
    }
    out.push_str("];\n    pub fn key(self) -> &'static str {\n        match self {\n");
    for d in &catalog.domain {
        let _ = writeln!(out, "            Domain::{} => {:?},", camel(&d.key), d.key);
    }
    out.push_str(
        "        }\n    }\n    pub fn title(self) -> &'static str {\n        match self {\n",
    );
    for d in &catalog.domain {
        let _ = writeln!(
            out,
            "            Domain::{} => {:?},",
            camel(&d.key),
            d.title
        );
    }
    out.push_str("        }\n    }\n}\n\n");

    out.push_str("/// Every permission the server knows (generated from `catalog.toml`).\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[repr(u16)]\npub enum Permission {\n");
    for e in &catalog.permission {
        let _ = writeln!(out, "    /// {}\n    {},", e.title, camel(&e.key));
    }
    out.push_str("}\n\nimpl Permission {\n    pub const ALL: [Permission; PERMISSION_COUNT] = [");
    for e in &catalog.permission {
        let _ = write!(out, "Permission::{}, ", camel(&e.key));
    }
    out.push_str("];\n\n");
    let table = |field: &str, ty: &str, value: &dyn Fn(&Entry) -> String| {
        let mut s = format!("    pub const fn {field}(self) -> {ty} {{\n        match self {{\n");
        for e in &catalog.permission {
            let _ = writeln!(
                s,
                "            Permission::{} => {},",
                camel(&e.key),
                value(e)
            );
        }
        s.push_str("        }\n    }\n");
        s
    };
    out.push_str(&table("key", "&'static str", &|e| format!("{:?}", e.key)));
    out.push_str(&table("title", "&'static str", &|e| {
        format!("{:?}", e.title)
    }));
    out.push_str(&table("description", "&'static str", &|e| {
        format!("{:?}", e.description)
    }));
    out.push_str(&table("domain", "Domain", &|e| {
        format!("Domain::{}", camel(&e.domain))
    }));
    out.push_str(&table("dangerous", "bool", &|e| e.dangerous.to_string()));
    out.push_str(&table("printer_access", "AccessLevel", &|e| {
        format!("AccessLevel::{}", camel(&e.printer_access))
    }));
    out.push_str(&table(
        "planned",
        "Option<&'static str>",
        &|e| match &e.planned {
            Some(p) => format!("Some({p:?})"),
            None => "None".into(),
        },
    ));
    out.push_str("    pub fn from_key(key: &str) -> Option<Permission> {\n        match key {\n");
    for e in &catalog.permission {
        let _ = writeln!(
            out,
            "            {:?} => Some(Permission::{}),",
            e.key,
            camel(&e.key)
        );
    }
    out.push_str("            _ => None,\n        }\n    }\n}\n");

    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|e| fail(e.to_string())))
            .join("catalog.rs");
    std::fs::write(dest, out).unwrap_or_else(|e| fail(e.to_string()));
}

fn has_all_in_domain(catalog: &Catalog, domain: &str) -> bool {
    catalog
        .permission
        .iter()
        .any(|e| e.domain == domain && e.key.ends_with(".all"))
}
