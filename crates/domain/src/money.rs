//! Money: prices per printer model and material, a job's itemized cost, and the ledger's kinds
//! of entry. Every amount is an integer number of the organization currency's minor units
//! (cents); arithmetic on them saturates rather than wraps.

use serde::{Deserialize, Serialize};

use crate::{Invalid, PrinterModelId};

/// The largest price or amount accepted from a request, in minor units (ten billion units of
/// a two-decimal currency).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
/// The most price rows an organization keeps.
pub const MAX_PRICES: usize = 200;
/// Longest material name in a price.
pub const MAX_MATERIAL_CHARS: usize = 40;

/// Digits after the decimal point of a currency's minor unit (ISO 4217).
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// What a job costs on printers of a model, in a material: per gram of material, per hour of
/// machine time, and a flat fee per job. `None` model or material: any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub printer_model_id: Option<PrinterModelId>,
    pub material: Option<String>,
    pub per_gram_minor: i64,
    pub per_hour_minor: i64,
    pub flat_fee_minor: i64,
}

impl Price {
    pub fn check(&self, index: usize) -> Result<(), Invalid> {
        for (name, value) in [
            ("per_gram_minor", self.per_gram_minor),
            ("per_hour_minor", self.per_hour_minor),
            ("flat_fee_minor", self.flat_fee_minor),
        ] {
            if !(0..=MAX_AMOUNT_MINOR).contains(&value) {
                return Err(Invalid::new(
                    "prices",
                    format!("price {index}: {name} must be 0 to {MAX_AMOUNT_MINOR}"),
                ));
            }
        }
        if let Some(material) = &self.material {
            let fine = !material.trim().is_empty()
                && material.chars().count() <= MAX_MATERIAL_CHARS
                && !material.chars().any(char::is_control);
            if !fine {
                return Err(Invalid::new(
                    "prices",
                    format!(
                        "price {index}: material must be 1 to {MAX_MATERIAL_CHARS} visible characters"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// How well it matches a model and material: `None` when it does not apply.
    fn specificity(&self, model: Option<PrinterModelId>, material: Option<&str>) -> Option<u8> {
        let model_score = match self.printer_model_id {
            None => 0,
            Some(m) if Some(m) == model => 2,
            Some(_) => return None,
        };
        let material_score = match &self.material {
            None => 0,
            Some(m) if material.is_some_and(|x| x.eq_ignore_ascii_case(m)) => 1,
            Some(_) => return None,
        };
        Some(model_score + material_score)
    }
}

/// Checks an organization's price list: each price, one per model and material.
pub fn check_prices(prices: &[Price]) -> Result<(), Invalid> {
    if prices.len() > MAX_PRICES {
        return Err(Invalid::new(
            "prices",
            format!("at most {MAX_PRICES} prices"),
        ));
    }
    for (i, price) in prices.iter().enumerate() {
        price.check(i)?;
        let same = |p: &Price| {
            p.printer_model_id == price.printer_model_id
                && p.material.as_deref().map(str::to_lowercase)
                    == price.material.as_deref().map(str::to_lowercase)
        };
        if prices[..i].iter().any(same) {
            return Err(Invalid::new(
                "prices",
                format!("price {i}: that printer model and material already has a price"),
            ));
        }
    }
    Ok(())
}

/// The price that applies to a model and material: the most specific (model and material,
/// then model, then material, then the organization-wide one).
pub fn price_for<'a>(
    prices: &'a [Price],
    model: Option<PrinterModelId>,
    material: Option<&str>,
) -> Option<&'a Price> {
    prices
        .iter()
        .filter_map(|p| p.specificity(model, material).map(|s| (s, p)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, p)| p)
}

/// An organization's price list and its printer models' hourly rates (`hourly_rate_minor`,
/// those above zero): what a job's cost is worked out from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceList {
    pub prices: Vec<Price>,
    pub model_rates: Vec<(PrinterModelId, i64)>,
}

impl PriceList {
    /// Nothing costs anything.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty() && self.model_rates.is_empty()
    }

    /// What applies to a job printed on a printer of `model` in `material`: the most specific
    /// price ([`price_for`]), whose machine time, when it sets none (zero), is charged at the
    /// printer model's hourly rate; with no price that applies, the model's hourly rate alone.
    pub fn price_for(
        &self,
        model: Option<PrinterModelId>,
        material: Option<&str>,
    ) -> Option<Price> {
        let rate = model
            .and_then(|m| self.model_rates.iter().find(|(id, _)| *id == m))
            .map_or(0, |(_, rate)| *rate);
        match price_for(&self.prices, model, material) {
            Some(price) if price.per_hour_minor == 0 && rate > 0 => Some(Price {
                per_hour_minor: rate,
                ..price.clone()
            }),
            Some(price) => Some(price.clone()),
            None if rate > 0 => Some(Price {
                printer_model_id: model,
                material: None,
                per_gram_minor: 0,
                per_hour_minor: rate,
                flat_fee_minor: 0,
            }),
            None => None,
        }
    }
}

/// One line of a cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub label: String,
    /// Grams, hours (two decimals) or jobs.
    pub quantity: f64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// An itemized cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Cost {
    pub total_minor: i64,
    pub lines: Vec<CostLine>,
}

impl Cost {
    /// What `price` charges for `grams` of material and `seconds` of machine time (one flat
    /// fee). Material is charged by the whole gram and machine time by the second, each
    /// rounded up to the minor unit.
    pub fn of(price: Option<&Price>, material: Option<&str>, grams: i64, seconds: i64) -> Cost {
        let Some(price) = price else {
            return Cost::default();
        };
        let mut lines = Vec::new();
        if price.per_gram_minor > 0 {
            let label = match material {
                Some(m) => format!("Material ({m}), grams"),
                None => "Material, grams".to_string(),
            };
            lines.push(CostLine {
                label,
                quantity: grams as f64,
                unit_price_minor: price.per_gram_minor,
                amount_minor: grams.max(0).saturating_mul(price.per_gram_minor),
            });
        }
        if price.per_hour_minor > 0 {
            let seconds = i128::from(seconds.max(0));
            let amount = (seconds * i128::from(price.per_hour_minor) + 3599) / 3600;
            lines.push(CostLine {
                label: "Machine time, hours".to_string(),
                quantity: (seconds as f64 / 36.0).round() / 100.0,
                unit_price_minor: price.per_hour_minor,
                amount_minor: i64::try_from(amount).unwrap_or(i64::MAX),
            });
        }
        if price.flat_fee_minor > 0 {
            lines.push(CostLine {
                label: "Flat fee per job".to_string(),
                quantity: 1.0,
                unit_price_minor: price.flat_fee_minor,
                amount_minor: price.flat_fee_minor,
            });
        }
        let total_minor = lines
            .iter()
            .fold(0_i64, |sum, line| sum.saturating_add(line.amount_minor));
        Cost { total_minor, lines }
    }

    /// This cost scaled by `fraction` (0 to 1), each line rounded up: a failed print charged
    /// by its progress.
    pub fn scaled(&self, fraction: f64) -> Cost {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let lines: Vec<CostLine> = self
            .lines
            .iter()
            .map(|line| CostLine {
                label: line.label.clone(),
                quantity: (line.quantity * fraction * 100.0).round() / 100.0,
                unit_price_minor: line.unit_price_minor,
                amount_minor: (line.amount_minor as f64 * fraction).ceil() as i64,
            })
            .collect();
        let total_minor = lines
            .iter()
            .fold(0_i64, |sum, line| sum.saturating_add(line.amount_minor));
        Cost { total_minor, lines }
    }
}

/// What a failed print is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedPrintCharge {
    /// As if it had completed.
    Full,
    /// In proportion to how far it got (time printed over time estimated).
    Progress,
    /// Nothing for the failed print (copies completed before it are charged).
    Nothing,
}

impl FailedPrintCharge {
    pub fn key(self) -> &'static str {
        match self {
            FailedPrintCharge::Full => "full",
            FailedPrintCharge::Progress => "progress",
            FailedPrintCharge::Nothing => "nothing",
        }
    }

    pub fn parse(key: &str) -> Option<FailedPrintCharge> {
        match key {
            "full" => Some(FailedPrintCharge::Full),
            "progress" => Some(FailedPrintCharge::Progress),
            "nothing" => Some(FailedPrintCharge::Nothing),
            _ => None,
        }
    }
}

/// When a job's estimate is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAt {
    /// When it is submitted.
    Submission,
    /// When it is approved (a job that needs no approval: when it is submitted).
    Approval,
}

impl HoldAt {
    pub fn key(self) -> &'static str {
        match self {
            HoldAt::Submission => "submission",
            HoldAt::Approval => "approval",
        }
    }

    pub fn parse(key: &str) -> Option<HoldAt> {
        match key {
            "submission" => Some(HoldAt::Submission),
            "approval" => Some(HoldAt::Approval),
            _ => None,
        }
    }
}

/// The kinds of ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    TopUp,
    Hold,
    Charge,
    Release,
    Refund,
    Adjustment,
}

impl LedgerKind {
    pub const ALL: [LedgerKind; 6] = [
        LedgerKind::TopUp,
        LedgerKind::Hold,
        LedgerKind::Charge,
        LedgerKind::Release,
        LedgerKind::Refund,
        LedgerKind::Adjustment,
    ];

    pub fn key(self) -> &'static str {
        match self {
            LedgerKind::TopUp => "top_up",
            LedgerKind::Hold => "hold",
            LedgerKind::Charge => "charge",
            LedgerKind::Release => "release",
            LedgerKind::Refund => "refund",
            LedgerKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(key: &str) -> Option<LedgerKind> {
        LedgerKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(model: Option<i64>, material: Option<&str>, per_gram: i64) -> Price {
        Price {
            printer_model_id: model.map(PrinterModelId),
            material: material.map(str::to_string),
            per_gram_minor: per_gram,
            per_hour_minor: 0,
            flat_fee_minor: 0,
        }
    }

    #[test]
    fn the_most_specific_price_applies() {
        let prices = [
            price(None, None, 1),
            price(Some(1), None, 2),
            price(None, Some("PETG"), 3),
            price(Some(1), Some("PETG"), 4),
        ];
        let per_gram =
            |model, material| price_for(&prices, model, material).unwrap().per_gram_minor;
        assert_eq!(per_gram(Some(PrinterModelId(1)), Some("petg")), 4);
        assert_eq!(per_gram(Some(PrinterModelId(1)), Some("PLA")), 2);
        assert_eq!(per_gram(Some(PrinterModelId(2)), Some("PETG")), 3);
        assert_eq!(per_gram(None, None), 1);
    }

    #[test]
    fn a_printer_models_hourly_rate_prices_machine_time_a_price_leaves_unset() {
        let (mini, big) = (PrinterModelId(1), PrinterModelId(2));
        let list = PriceList {
            prices: vec![
                Price {
                    printer_model_id: None,
                    material: None,
                    per_gram_minor: 5,
                    per_hour_minor: 0,
                    flat_fee_minor: 50,
                },
                Price {
                    printer_model_id: Some(big),
                    material: None,
                    per_gram_minor: 7,
                    per_hour_minor: 300,
                    flat_fee_minor: 0,
                },
            ],
            model_rates: vec![(mini, 120), (big, 900)],
        };
        // The price sets no hourly rate: the model's applies, the rest of the price stays.
        let on_mini = list.price_for(Some(mini), Some("PLA")).unwrap();
        assert_eq!(
            (
                on_mini.per_gram_minor,
                on_mini.per_hour_minor,
                on_mini.flat_fee_minor
            ),
            (5, 120, 50)
        );
        let cost = Cost::of(Some(&on_mini), Some("PLA"), 10, 1800);
        assert_eq!(cost.lines[1].label, "Machine time, hours");
        assert_eq!(cost.lines[1].amount_minor, 60);
        assert_eq!(cost.total_minor, 50 + 60 + 50);
        // The price's own hourly rate wins over the model's.
        assert_eq!(list.price_for(Some(big), None).unwrap().per_hour_minor, 300);
        // No model, or a model without a rate: the price as it is.
        assert_eq!(list.price_for(None, None).unwrap().per_hour_minor, 0);
        assert_eq!(
            list.price_for(Some(PrinterModelId(3)), None)
                .unwrap()
                .per_hour_minor,
            0
        );
        // No price applies: the model's hourly rate alone.
        let rates_only = PriceList {
            prices: Vec::new(),
            model_rates: vec![(mini, 120)],
        };
        let alone = rates_only.price_for(Some(mini), None).unwrap();
        assert_eq!(Cost::of(Some(&alone), None, 10, 3600).total_minor, 120);
        assert_eq!(rates_only.price_for(None, None), None);
        assert!(!rates_only.is_empty() && PriceList::default().is_empty());
    }

    #[test]
    fn costs_are_itemized_and_rounded_up() {
        let price = Price {
            printer_model_id: None,
            material: None,
            per_gram_minor: 5,
            per_hour_minor: 200,
            flat_fee_minor: 100,
        };
        let cost = Cost::of(Some(&price), Some("PLA"), 12, 5400 + 1);
        assert_eq!(cost.lines.len(), 3);
        assert_eq!(cost.lines[0].amount_minor, 60);
        assert_eq!(cost.lines[1].amount_minor, 301);
        assert_eq!(cost.lines[1].quantity, 1.5);
        assert_eq!(cost.total_minor, 461);
        assert_eq!(cost.scaled(0.5).total_minor, 30 + 151 + 50);
        assert_eq!(Cost::of(None, None, 10, 10), Cost::default());
        let huge = Cost::of(Some(&price), None, i64::MAX, i64::MAX);
        assert_eq!(huge.total_minor, i64::MAX);
    }
}
