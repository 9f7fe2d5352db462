//! The machine-state interpreter: turns tokenized lines into moves for the planner, and keeps
//! count of filament, layers, bounds, heating and dwell time.

use std::collections::HashSet;
use std::f64::consts::PI;

use crate::lexer::{Code, LexIssue, Line, parse_into};
use crate::metadata::SlicerMetadata;
use crate::planner::{Move, Planner};
use crate::profile::Profile;
use crate::thumbnail::ThumbnailReader;
use crate::{Analysis, Bounds, ExtruderUsage, FeatureTime, Warning, WarningKind};

/// Tools tracked separately; higher tool numbers are warned about and counted on the last one.
const MAX_TOOLS: usize = 16;
/// Distinct feature names tracked; further names are counted under the unmarked feature.
const MAX_FEATURES: usize = 64;
/// Distinct unknown commands remembered (to warn once each).
const MAX_UNKNOWN: usize = 1024;
/// Longest arc segment, mm.
const ARC_SEGMENT_MM: f64 = 1.0;
/// Most segments one arc is cut into.
const MAX_ARC_SEGMENTS: usize = 2000;

#[derive(Debug, Clone, Copy)]
struct Heater {
    start_temp: f64,
    target: f64,
    since: f64,
    rate: f64,
}

impl Heater {
    fn new(ambient: f64, rate: f64) -> Self {
        Self {
            start_temp: ambient,
            target: ambient,
            since: 0.0,
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                1.0
            },
        }
    }

    /// Temperature at `now`, assuming a linear ramp towards the target since it was set.
    fn temp_at(&self, now: f64) -> f64 {
        let dt = (now - self.since).max(0.0);
        if self.target >= self.start_temp {
            (self.start_temp + self.rate * dt).min(self.target)
        } else {
            (self.start_temp - self.rate * dt).max(self.target)
        }
    }

    fn set_target(&mut self, now: f64, target: f64) {
        self.start_temp = self.temp_at(now);
        self.target = target;
        self.since = now;
    }

    /// Seconds to wait until the target is reached; only waits for cooling when asked to.
    fn wait(&mut self, now: f64, allow_cooling: bool) -> f64 {
        let cur = self.temp_at(now);
        let secs = if cur < self.target {
            (self.target - cur) / self.rate
        } else if allow_cooling && cur > self.target {
            (cur - self.target) / self.rate
        } else {
            0.0
        };
        self.start_temp = if secs > 0.0 { self.target } else { cur };
        self.since = now + secs;
        if secs <= 0.0 {
            // Keep ramping from the current temperature towards the target.
            self.start_temp = cur;
        }
        secs
    }
}

#[derive(Debug, Default)]
struct Times {
    moves: f64,
    by_feature: Vec<f64>,
}

impl Times {
    fn add(&mut self, feature: u16, secs: f64) {
        if !secs.is_finite() {
            return;
        }
        self.moves += secs;
        let i = usize::from(feature);
        if i >= self.by_feature.len() {
            self.by_feature.resize(i + 1, 0.0);
        }
        self.by_feature[i] += secs;
    }
}

/// Feeds lines one at a time; call [`Analyzer::finish`] at the end. Useful to report progress
/// while reading; [`crate::analyze`] wraps it for a whole reader.
pub struct Analyzer {
    profile: Profile,
    planner: Planner,
    times: Times,
    dwell: f64,
    heating: f64,
    line_no: u64,

    pos: [f64; 4],
    relative_xyz: bool,
    relative_e: bool,
    scale: f64,
    feedrate: f64,
    speed_factor: f64,
    tool: usize,
    filament: Vec<f64>,
    retracted: bool,
    retract_length: f64,
    retract_speed: f64,
    unretract_speed: f64,
    hotend: Heater,
    bed: Heater,

    feature: u16,
    feature_names: Vec<String>,
    prusa_layers: u64,
    cura_layers: u64,
    z_layers: u64,
    last_layer_z: f64,
    max_z: f64,
    moved: bool,
    /// Box around extruding moves; empty (min above max) until the first one.
    extrusion_box: Bounds,
    warned_outside_bed: bool,

    warnings: Vec<Warning>,
    warning_count: u64,
    unknown: HashSet<Vec<u8>>,
    metadata: SlicerMetadata,
    thumbnails: ThumbnailReader,
}

impl Analyzer {
    pub fn new(profile: &Profile) -> Self {
        let feedrate = if profile.default_feedrate.is_finite() && profile.default_feedrate > 0.0 {
            profile.default_feedrate
        } else {
            25.0
        };
        Self {
            planner: Planner::new(profile),
            times: Times::default(),
            dwell: 0.0,
            heating: 0.0,
            line_no: 0,
            pos: [0.0; 4],
            relative_xyz: false,
            relative_e: false,
            scale: 1.0,
            feedrate,
            speed_factor: 1.0,
            tool: 0,
            filament: vec![0.0],
            retracted: false,
            retract_length: profile.retract_length,
            retract_speed: profile.retract_speed,
            unretract_speed: profile.unretract_speed,
            hotend: Heater::new(profile.ambient_temperature, profile.hotend_heating_rate),
            bed: Heater::new(profile.ambient_temperature, profile.bed_heating_rate),
            feature: 0,
            feature_names: vec![String::new()],
            prusa_layers: 0,
            cura_layers: 0,
            z_layers: 0,
            last_layer_z: f64::NEG_INFINITY,
            max_z: 0.0,
            moved: false,
            extrusion_box: Bounds {
                min: [f64::INFINITY; 3],
                max: [f64::NEG_INFINITY; 3],
            },
            warned_outside_bed: false,
            warnings: Vec::new(),
            warning_count: 0,
            unknown: HashSet::new(),
            metadata: SlicerMetadata::default(),
            thumbnails: ThumbnailReader::default(),
            profile: profile.clone(),
        }
    }

    fn warn(&mut self, kind: WarningKind, message: impl Into<String>) {
        self.warning_count += 1;
        if self.warnings.len() < self.profile.max_warnings {
            self.warnings.push(Warning {
                line: self.line_no,
                kind,
                message: message.into(),
            });
        }
    }

    /// Time committed so far (moves still in the look-ahead window are not counted yet).
    fn now(&self) -> f64 {
        self.times.moves + self.dwell + self.heating
    }

    fn flush(&mut self) {
        let times = &mut self.times;
        self.planner.flush(&mut |f, t| times.add(f, t));
    }

    /// Processes one line (without its terminator). `truncated` says the line was cut at the cap.
    pub fn push_line(&mut self, bytes: &[u8], truncated: bool) {
        self.line_no += 1;
        if truncated
            && bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|&b| b != b';')
        {
            self.warn(
                WarningKind::LineTooLong,
                format!(
                    "line longer than {} bytes; only its beginning was read",
                    self.profile.max_line_length
                ),
            );
        }
        let mut line = Line::empty();
        parse_into(bytes, &mut line);
        for issue in &line.issues {
            let msg = match issue {
                LexIssue::InvalidNumber { letter } => {
                    format!("invalid number for {letter} (NaN, infinite or too large); ignored")
                }
                LexIssue::UnexpectedByte { byte } => {
                    format!("unexpected character {:?}; word skipped", char::from(*byte))
                }
                LexIssue::BadCommand { letter } => {
                    format!("command letter {letter} without a valid number; ignored")
                }
                LexIssue::ExtraCommand { letter } => {
                    format!("second command word {letter} on one line; ignored")
                }
            };
            self.warn(WarningKind::InvalidWord, msg);
        }
        if let Some(comment) = line.comment {
            self.comment(comment);
        }
        if let Some(name) = line.extended {
            self.extended_command(name, &line);
        }
        if let Some(code) = line.code {
            self.command(code, &line);
        }
    }

    /// Klipper's extended commands; other firmware does not know them.
    fn extended_command(&mut self, name: &[u8], line: &Line<'_>) {
        let Planner::Klipper(planner) = &mut self.planner else {
            self.unknown_command(name);
            return;
        };
        if name.eq_ignore_ascii_case(b"SET_VELOCITY_LIMIT") {
            let l = &mut planner.limits;
            let positive = |key: &[u8]| line.extended_param(key).filter(|v| *v > 0.0);
            if let Some(v) = positive(b"VELOCITY") {
                l.max_velocity = v;
            }
            if let Some(a) = positive(b"ACCEL") {
                l.max_accel = a;
            }
            if let Some(v) = line
                .extended_param(b"SQUARE_CORNER_VELOCITY")
                .filter(|v| *v >= 0.0)
            {
                l.square_corner_velocity = v;
            }
            if let Some(r) = line.extended_param(b"MINIMUM_CRUISE_RATIO") {
                l.minimum_cruise_ratio = r.clamp(0.0, 1.0);
            } else if let Some(a2d) = positive(b"ACCEL_TO_DECEL") {
                // The older setting this ratio replaced.
                l.minimum_cruise_ratio = (1.0 - a2d / l.max_accel).clamp(0.0, 1.0);
            }
        } else if name.eq_ignore_ascii_case(b"SET_RETRACTION") {
            let positive = |key: &[u8]| line.extended_param(key).filter(|v| *v > 0.0);
            if let Some(len) = line.extended_param(b"RETRACT_LENGTH").filter(|v| *v >= 0.0) {
                self.retract_length = len;
            }
            if let Some(v) = positive(b"RETRACT_SPEED") {
                self.retract_speed = v;
            }
            if let Some(v) = positive(b"UNRETRACT_SPEED") {
                self.unretract_speed = v;
            }
        } else if !is_known_klipper_command(name) {
            self.unknown_command(name);
        }
    }

    fn unknown_command(&mut self, name: &[u8]) {
        // Names are cut to 64 bytes so the set stays small however long the lines are.
        let name = &name[..name.len().min(64)];
        if self.unknown.len() < MAX_UNKNOWN && self.unknown.insert(name.to_vec()) {
            let text = String::from_utf8_lossy(name).into_owned();
            self.warn(
                WarningKind::UnknownCommand,
                format!("unknown command {text}; ignored (reported once)"),
            );
        }
    }

    fn comment(&mut self, comment: &[u8]) {
        if let Some(message) = self.thumbnails.comment(comment) {
            self.warn(WarningKind::Thumbnail, message);
        }
        self.metadata.comment(comment);
        let c = comment.trim_ascii();
        if let Some(rest) = c
            .strip_prefix(b"TYPE:")
            .or_else(|| c.strip_prefix(b"FEATURE:"))
        {
            self.set_feature(rest.trim_ascii());
        } else if c.starts_with(b"LAYER_CHANGE") {
            self.prusa_layers += 1;
        } else if c.starts_with(b"LAYER:") {
            self.cura_layers += 1;
        }
    }

    fn set_feature(&mut self, name: &[u8]) {
        let name = String::from_utf8_lossy(&name[..name.len().min(64)]).into_owned();
        if let Some(i) = self.feature_names.iter().position(|n| *n == name) {
            self.feature = u16::try_from(i).unwrap_or(0);
        } else if self.feature_names.len() < MAX_FEATURES {
            self.feature_names.push(name);
            self.feature = u16::try_from(self.feature_names.len() - 1).unwrap_or(0);
        } else {
            self.feature = 0;
            self.warn(
                WarningKind::Limit,
                format!("more than {MAX_FEATURES} feature types; {name} counted as unmarked"),
            );
        }
    }

    fn command(&mut self, code: Code, line: &Line<'_>) {
        match (code.letter, code.number, code.sub) {
            (b'G', 0 | 1, None) => self.linear(line),
            (b'G', 2 | 3, None) => self.arc(line, code.number == 2),
            (b'G', 4, None) => {
                self.flush();
                let secs = match (line.get(b'P'), line.get(b'S')) {
                    (Some(ms), _) => ms / 1000.0,
                    (None, Some(s)) => s,
                    (None, None) => 0.0,
                };
                if secs > 0.0 {
                    self.dwell += secs;
                }
            }
            (b'G', 10, None) if !line.has(b'P') && !line.has(b'L') => self.firmware_retract(true),
            (b'G', 11, None) => self.firmware_retract(false),
            (b'G', 20, None) => self.scale = 25.4,
            (b'G', 21, None) => self.scale = 1.0,
            (b'G', 28, _) => {
                self.flush();
                let any = [b'X', b'Y', b'Z'].iter().any(|&l| line.has(l));
                for (i, l) in [b'X', b'Y', b'Z'].iter().enumerate() {
                    if !any || line.has(*l) {
                        self.pos[i] = 0.0;
                    }
                }
            }
            (b'G', 90, None) => self.relative_xyz = false,
            (b'G', 91, None) => self.relative_xyz = true,
            (b'G', 92, None) => {
                for (i, l) in [b'X', b'Y', b'Z', b'E'].iter().enumerate() {
                    if let Some(v) = line.get(*l) {
                        self.pos[i] = v * self.scale;
                    }
                }
            }
            (b'M', 82, _) => self.relative_e = false,
            (b'M', 83, _) => self.relative_e = true,
            (b'M', 104, _) => {
                if let Some(t) = line.get(b'S') {
                    let now = self.now();
                    self.hotend.set_target(now, t);
                }
            }
            (b'M', 140, _) => {
                if let Some(t) = line.get(b'S') {
                    let now = self.now();
                    self.bed.set_target(now, t);
                }
            }
            (b'M', 109, _) | (b'M', 190, _) => {
                self.flush();
                let now = self.now();
                let heater = if code.number == 109 {
                    &mut self.hotend
                } else {
                    &mut self.bed
                };
                let (target, cooling) = match (line.get(b'S'), line.get(b'R')) {
                    (Some(s), _) => (Some(s), false),
                    (None, Some(r)) => (Some(r), true),
                    (None, None) => (None, false),
                };
                if let Some(t) = target {
                    heater.set_target(now, t);
                }
                let secs = heater.wait(now, cooling);
                self.heating += secs;
            }
            (b'M', 201 | 203 | 204 | 205, _) => self.machine_limits(code.number, line),
            (b'M', 207, _) => {
                if let Some(s) = line.get(b'S').filter(|v| *v >= 0.0) {
                    self.retract_length = s * self.scale;
                }
                if let Some(f) = line.get(b'F').filter(|v| *v > 0.0) {
                    self.retract_speed = f * self.scale / 60.0;
                }
            }
            (b'M', 208, _) => {
                if let Some(f) = line.get(b'F').filter(|v| *v > 0.0) {
                    self.unretract_speed = f * self.scale / 60.0;
                }
            }
            (b'M', 220, _) => {
                if let Some(s) = line.get(b'S').filter(|v| *v > 0.0) {
                    self.speed_factor = s / 100.0;
                }
            }
            (b'M', 0 | 1 | 400, _) => self.flush(),
            (b'T', n, _) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n >= MAX_TOOLS {
                    self.warn(
                        WarningKind::Limit,
                        format!(
                            "tool T{n} above T{}; counted as T{}",
                            MAX_TOOLS - 1,
                            MAX_TOOLS - 1
                        ),
                    );
                }
                self.tool = n.min(MAX_TOOLS - 1);
                if self.filament.len() <= self.tool {
                    self.filament.resize(self.tool + 1, 0.0);
                }
            }
            _ if is_known_ignored(code) => {}
            _ => {
                let name = match code.sub {
                    Some(s) => format!("{}{}.{}", char::from(code.letter), code.number, s),
                    None => format!("{}{}", char::from(code.letter), code.number),
                };
                self.unknown_command(name.as_bytes());
            }
        }
    }

    /// M201 (max acceleration), M203 (max feed rate), M204 (accelerations), M205 (jerk).
    fn machine_limits(&mut self, number: u32, line: &Line<'_>) {
        let scale = self.scale;
        let positive = |letter: u8| line.get(letter).filter(|v| *v > 0.0);
        let axes = [b'X', b'Y', b'Z', b'E'];
        match &mut self.planner {
            Planner::Marlin(planner) => planner.update_limits(|l| match number {
                201 => {
                    for (i, letter) in axes.iter().enumerate() {
                        if let Some(v) = positive(*letter) {
                            l.max_acceleration[i] = v * scale;
                        }
                    }
                }
                203 => {
                    for (i, letter) in axes.iter().enumerate() {
                        if let Some(v) = positive(*letter) {
                            l.max_feedrate[i] = v * scale;
                        }
                    }
                }
                // As PrusaSlicer reads it: `S` is the legacy form (MK2/MK3 and old Marlin),
                // where it sets print and travel acceleration and `T` is the retract
                // acceleration; otherwise upstream Marlin's P (print), R (retract), T (travel).
                204 => {
                    if let Some(s) = positive(b'S') {
                        l.print_acceleration = s;
                        l.travel_acceleration = s;
                        if let Some(t) = positive(b'T') {
                            l.retract_acceleration = t;
                        }
                    } else {
                        if let Some(p) = positive(b'P') {
                            l.print_acceleration = p;
                        }
                        if let Some(r) = positive(b'R') {
                            l.retract_acceleration = r;
                        }
                        if let Some(t) = positive(b'T') {
                            l.travel_acceleration = t;
                        }
                    }
                }
                _ => {
                    for (i, letter) in axes.iter().enumerate() {
                        if let Some(v) = line.get(*letter).filter(|v| *v >= 0.0) {
                            l.max_jerk[i] = v;
                        }
                    }
                    if let Some(j) = positive(b'J') {
                        l.junction_deviation = Some(j);
                    }
                }
            }),
            // Klipper takes its acceleration from M204 (S, or the smaller of P and T) and
            // ignores the other Marlin limit commands (they live in printer.cfg).
            Planner::Klipper(planner) => {
                if number == 204 {
                    let accel =
                        positive(b'S').or_else(|| Some(positive(b'P')?.min(positive(b'T')?)));
                    match accel {
                        Some(a) => planner.limits.max_accel = a,
                        None => self.warn(
                            WarningKind::InvalidCommand,
                            "M204 needs S, or both P and T, on Klipper; ignored",
                        ),
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn update_feedrate(&mut self, line: &Line<'_>) {
        if line.has(b'F') {
            match line.get(b'F') {
                Some(f) if f > 0.0 => self.feedrate = f * self.scale / 60.0,
                _ => self.warn(
                    WarningKind::InvalidCommand,
                    "feed rate F must be a positive number; kept the previous one",
                ),
            }
        }
    }

    #[inline(always)]
    fn target(&self, line: &Line<'_>) -> [f64; 4] {
        let mut t = self.pos;
        for (i, l) in [b'X', b'Y', b'Z', b'E'].iter().enumerate() {
            if let Some(v) = line.get(*l) {
                let relative = if i == 3 {
                    self.relative_e || self.relative_xyz
                } else {
                    self.relative_xyz
                };
                t[i] = if relative {
                    self.pos[i] + v * self.scale
                } else {
                    v * self.scale
                };
            }
        }
        t
    }

    #[inline(always)]
    fn linear(&mut self, line: &Line<'_>) {
        self.update_feedrate(line);
        let target = self.target(line);
        self.move_to(target);
    }

    /// One straight move from the current position to `target`.
    #[inline]
    fn move_to(&mut self, target: [f64; 4]) {
        let start = self.pos;
        let delta = [
            target[0] - start[0],
            target[1] - start[1],
            target[2] - start[2],
            target[3] - start[3],
        ];
        self.pos = target;
        // One sum answers both "did it move at all" and "is it a number" (NaN fails the test).
        let size = delta[0].abs() + delta[1].abs() + delta[2].abs() + delta[3].abs();
        if !(1e-12..f64::INFINITY).contains(&size) {
            return;
        }
        // Filament is the sum of E as written (what slicers report as "filament used"); the
        // M221 flow factor is not applied.
        let de = delta[3];
        self.filament[self.tool] += de;
        self.moved = true;
        self.max_z = self.max_z.max(target[2]);
        let xyz_moved = delta[..3].iter().any(|d| d.abs() > 1e-9);
        if de > 0.0 && xyz_moved {
            let b = &mut self.extrusion_box;
            for i in 0..3 {
                b.min[i] = b.min[i].min(start[i]).min(target[i]);
                b.max[i] = b.max[i].max(start[i]).max(target[i]);
            }
            let bounds = *b;
            // The box holds every extruding point, so it leaves the bed exactly when one does.
            if !self.warned_outside_bed
                && let Some(bed) = self.profile.bed
                && (0..3)
                    .any(|i| bounds.min[i] < bed.min[i] - 1e-6 || bounds.max[i] > bed.max[i] + 1e-6)
            {
                self.warned_outside_bed = true;
                self.warn(
                    WarningKind::OutsideBed,
                    format!(
                        "extrusion at X{:.2} Y{:.2} Z{:.2} is outside the printer's bed (reported once)",
                        target[0], target[1], target[2]
                    ),
                );
            }
            if target[2] > self.last_layer_z + 1e-4 {
                self.z_layers += 1;
                self.last_layer_z = target[2];
            }
        }
        let mv = Move {
            delta,
            feedrate: self.feedrate * self.speed_factor,
            feature: self.feature,
        };
        let times = &mut self.times;
        self.planner.push(mv, &mut |f, t| times.add(f, t));
    }

    fn firmware_retract(&mut self, retract: bool) {
        if retract == self.retracted {
            return;
        }
        self.retracted = retract;
        let (len, speed) = if retract {
            (-self.retract_length, self.retract_speed)
        } else {
            (self.retract_length, self.unretract_speed)
        };
        if len == 0.0 || !len.is_finite() {
            return;
        }
        self.filament[self.tool] += len;
        let mv = Move {
            delta: [0.0, 0.0, 0.0, len],
            feedrate: speed.max(1e-3),
            feature: self.feature,
        };
        let times = &mut self.times;
        self.planner.push(mv, &mut |f, t| times.add(f, t));
    }

    fn arc(&mut self, line: &Line<'_>, clockwise: bool) {
        self.update_feedrate(line);
        let target = self.target(line);
        let start = self.pos;
        let (dx, dy) = (target[0] - start[0], target[1] - start[1]);
        let center_offset = if line.has(b'I') || line.has(b'J') {
            Some((
                line.get(b'I').unwrap_or(0.0) * self.scale,
                line.get(b'J').unwrap_or(0.0) * self.scale,
            ))
        } else if let Some(r) = line.get(b'R') {
            let r = r * self.scale;
            let d2 = dx * dx + dy * dy;
            let h2 = 4.0 * r * r - d2;
            if d2 < 1e-18 {
                None
            } else {
                // A tiny negative value is rounding; a large one means the radius is too small.
                let mut h = -(h2.max(0.0)).sqrt() / d2.sqrt();
                if h2 < -1e-6 * r * r.max(1.0) {
                    self.warn(
                        WarningKind::InvalidCommand,
                        "arc radius smaller than half the chord; treated as a half circle",
                    );
                }
                if !clockwise {
                    h = -h;
                }
                if r < 0.0 {
                    h = -h;
                }
                Some((0.5 * (dx - dy * h), 0.5 * (dy + dx * h)))
            }
        } else {
            None
        };
        let Some((i, j)) = center_offset else {
            self.warn(
                WarningKind::InvalidCommand,
                "arc without a usable centre (I/J or R); treated as a straight move",
            );
            self.move_to(target);
            return;
        };
        let (cx, cy) = (start[0] + i, start[1] + j);
        let (r0x, r0y) = (-i, -j);
        let (r1x, r1y) = (target[0] - cx, target[1] - cy);
        let radius = (r0x * r0x + r0y * r0y).sqrt();
        if radius.is_nan() || radius <= 1e-9 || !radius.is_finite() {
            self.move_to(target);
            return;
        }
        let mut travel = (r0x * r1y - r0y * r1x).atan2(r0x * r1x + r0y * r1y);
        if clockwise {
            if travel >= -1e-9 {
                travel -= 2.0 * PI;
            }
        } else if travel <= 1e-9 {
            travel += 2.0 * PI;
        }
        let dz = target[2] - start[2];
        let length = (radius * travel).hypot(dz);
        let segments = if length.is_finite() {
            ((length / ARC_SEGMENT_MM).ceil() as usize).clamp(1, MAX_ARC_SEGMENTS)
        } else {
            1
        };
        let a0 = r0y.atan2(r0x);
        for k in 1..segments {
            let f = k as f64 / segments as f64;
            let a = a0 + travel * f;
            let p = [
                cx + radius * a.cos(),
                cy + radius * a.sin(),
                start[2] + dz * f,
                start[3] + (target[3] - start[3]) * f,
            ];
            self.move_to(p);
        }
        self.move_to(target);
    }

    /// Runs the remaining moves to a stop and returns the results.
    pub fn finish(mut self) -> Analysis {
        self.flush();
        let layer_count = if self.prusa_layers > 0 || self.cura_layers > 0 {
            self.prusa_layers.max(self.cura_layers)
        } else {
            self.z_layers
        };
        // Only plausible filament (0.1–10 mm, 0.1–25 g/cm³) is used, from the file first, then
        // the profile: an absurd value (1e308) would turn volume and weight into ∞ or NaN.
        let plausible =
            |v: Option<f64>, range: std::ops::RangeInclusive<f64>| v.filter(|v| range.contains(v));
        for (stated, what, range) in [
            (
                self.metadata.filament_diameter,
                "filament_diameter",
                0.1..=10.0,
            ),
            (
                self.metadata.filament_density,
                "filament_density",
                0.1..=25.0,
            ),
        ] {
            if let Some(v) = stated.filter(|v| !range.contains(v)) {
                self.warn(
                    WarningKind::InvalidCommand,
                    format!("the file's {what} {v:e} is implausible; the profile's is used"),
                );
            }
        }
        let diameter = plausible(self.metadata.filament_diameter, 0.1..=10.0)
            .or(plausible(Some(self.profile.filament_diameter), 0.1..=10.0))
            .unwrap_or(1.75);
        let density = plausible(self.metadata.filament_density, 0.1..=25.0)
            .or(plausible(Some(self.profile.filament_density), 0.1..=25.0))
            .unwrap_or(1.24);
        let area = PI * (diameter / 2.0).powi(2);
        let extruders: Vec<ExtruderUsage> = self
            .filament
            .iter()
            .map(|&len| {
                let volume = len * area;
                ExtruderUsage {
                    length_mm: len,
                    volume_mm3: volume,
                    // g/cm³ × mm³ / 1000 = g
                    weight_g: volume * density / 1000.0,
                }
            })
            .collect();
        let time_by_feature = self
            .feature_names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                let secs = self.times.by_feature.get(i).copied().unwrap_or(0.0);
                (secs > 0.0).then(|| FeatureTime {
                    name: name.clone(),
                    seconds: secs,
                })
            })
            .collect();
        Analysis {
            estimated_time_s: self.times.moves + self.dwell + self.heating,
            move_time_s: self.times.moves,
            dwell_time_s: self.dwell,
            heating_time_s: self.heating,
            time_by_feature,
            filament_length_mm: extruders.iter().map(|e| e.length_mm).sum(),
            filament_weight_g: extruders.iter().map(|e| e.weight_g).sum(),
            extruders,
            layer_count,
            max_z: if self.moved { self.max_z } else { 0.0 },
            bounds: (self.extrusion_box.min[0] <= self.extrusion_box.max[0])
                .then_some(self.extrusion_box),
            lines: self.line_no,
            warnings: self.warnings,
            warning_count: self.warning_count,
            metadata: self.metadata,
            thumbnails: self.thumbnails.thumbnails,
        }
    }
}

/// Klipper's extended commands that have no effect on the estimate (macros of common
/// configurations, status and fan commands).
fn is_known_klipper_command(name: &[u8]) -> bool {
    const KNOWN: [&[u8]; 16] = [
        b"SET_PRESSURE_ADVANCE",
        b"SET_FAN_SPEED",
        b"SET_HEATER_TEMPERATURE",
        b"SET_GCODE_OFFSET",
        b"SET_PRINT_STATS_INFO",
        b"RESPOND",
        b"SET_IDLE_TIMEOUT",
        b"SET_INPUT_SHAPER",
        b"EXCLUDE_OBJECT_DEFINE",
        b"EXCLUDE_OBJECT_START",
        b"EXCLUDE_OBJECT_END",
        b"PRINT_START",
        b"PRINT_END",
        b"START_PRINT",
        b"END_PRINT",
        b"BED_MESH_CALIBRATE",
    ];
    KNOWN.iter().any(|k| name.eq_ignore_ascii_case(k))
}

/// Commands that are understood and have no effect on the estimate.
fn is_known_ignored(code: Code) -> bool {
    match code.letter {
        b'G' => matches!(code.number, 17..=19 | 29 | 80 | 94 | 21 | 53..=59),
        b'M' => matches!(
            code.number,
            17 | 18
                | 23..=32
                | 73
                | 84
                | 105..=107
                | 110
                | 114
                | 115
                | 117
                | 118
                | 141
                | 142
                | 150
                | 155
                | 191
                | 206
                | 221
                | 209
                | 300
                | 420
                | 486
                | 500..=504
                | 555
                | 572
                | 593
                | 862
                | 900
                | 907
                | 1001..=1002
        ),
        _ => false,
    }
}
