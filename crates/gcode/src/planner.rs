//! Motion planners used only to estimate time. [`Planner`] picks the firmware's: Marlin-style
//! trapezoidal velocity profiles with look-ahead (reverse and forward passes) over a bounded window
//! of moves, as PrusaSlicer's GCodeProcessor models Marlin in "normal" mode, or Klipper's
//! ([`crate::klipper`]).

use crate::klipper::KlipperPlanner;
use crate::profile::{AXES, Firmware, Profile};

/// The planner of the profile's firmware.
pub enum Planner {
    Marlin(MarlinPlanner),
    Klipper(KlipperPlanner),
}

impl Planner {
    pub fn new(profile: &Profile) -> Self {
        match profile.firmware {
            Firmware::Marlin => Self::Marlin(MarlinPlanner::new(profile)),
            Firmware::Klipper => {
                // Klipper smooths over longer distances than Marlin brakes in: a longer window.
                Self::Klipper(KlipperPlanner::new(
                    profile.klipper.clone(),
                    profile.lookahead.saturating_mul(4),
                ))
            }
        }
    }

    /// Adds a move. Committed moves report `(feature, seconds)` to `sink`.
    #[inline(always)]
    pub fn push(&mut self, mv: Move, sink: &mut impl FnMut(u16, f64)) {
        match self {
            Self::Marlin(p) => p.push(mv, sink),
            Self::Klipper(p) => p.push(mv, sink),
        }
    }

    /// Runs everything still buffered to a stop (end of file, dwell, heating wait, M400).
    pub fn flush(&mut self, sink: &mut impl FnMut(u16, f64)) {
        match self {
            Self::Marlin(p) => p.flush(sink),
            Self::Klipper(p) => p.flush(sink),
        }
    }
}

/// Limits the planner uses; start from the profile, changed by M201/M203/M204/M205.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_feedrate: [f64; AXES],
    pub max_acceleration: [f64; AXES],
    pub print_acceleration: f64,
    pub retract_acceleration: f64,
    pub travel_acceleration: f64,
    pub max_jerk: [f64; AXES],
    pub junction_deviation: Option<f64>,
    pub minimum_planner_speed: f64,
}

/// Per-axis limits as reciprocals, so that checking a move against them takes multiplications
/// (a division only when a limit bites). Derived from [`Limits`] whenever they change.
#[derive(Debug, Clone, Copy)]
struct Reciprocals {
    /// `1 / max_feedrate`, 0 where there is no limit.
    feedrate: [f64; AXES],
    /// `1 / max_acceleration`, 0 where there is no limit.
    acceleration: [f64; AXES],
    /// `1 / max_jerk`: infinite for a zero jerk (every change of speed is limited), 0 for none.
    jerk: [f64; AXES],
}

impl Reciprocals {
    fn of(l: &Limits) -> Self {
        // A limit that is not a positive number (0, negative, NaN) does not limit.
        let cap = |v: f64| if v > 0.0 { 1.0 / v } else { 0.0 };
        Self {
            feedrate: l.max_feedrate.map(cap),
            acceleration: l.max_acceleration.map(cap),
            jerk: l.max_jerk.map(|j| {
                if j > 0.0 {
                    1.0 / j
                } else if j <= 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            }),
        }
    }
}

impl Limits {
    pub fn from_profile(p: &Profile) -> Self {
        Self {
            max_feedrate: p.max_feedrate,
            max_acceleration: p.max_acceleration,
            print_acceleration: p.print_acceleration,
            retract_acceleration: p.retract_acceleration,
            travel_acceleration: p.travel_acceleration,
            max_jerk: p.max_jerk,
            junction_deviation: p.junction_deviation,
            minimum_planner_speed: p.minimum_planner_speed,
        }
    }
}

/// One straight move handed to the planner.
#[derive(Debug, Clone, Copy)]
pub struct Move {
    /// Signed per-axis displacement, mm (X, Y, Z, E).
    pub delta: [f64; AXES],
    /// Requested feed rate, mm/s.
    pub feedrate: f64,
    /// Feature (slicer-marked type) the time is attributed to.
    pub feature: u16,
}

/// A buffered move. Speeds at its ends are kept squared: braking over a distance adds
/// `2·a·d` to the square of the speed, so the look-ahead passes need no square roots.
#[derive(Debug, Clone, Copy)]
struct Block {
    distance: f64,
    acceleration: f64,
    /// `2 · acceleration · distance`: what the move adds to (or takes from) a squared speed.
    speed2_change: f64,
    nominal: f64,
    entry2: f64,
    max_entry2: f64,
    /// The speed it may end at when nothing follows.
    safe: f64,
    nominal_length: bool,
    feature: u16,
}

/// What the previous move looked like, for the junction speed of the next one.
#[derive(Debug, Clone, Copy)]
struct Prev {
    nominal: f64,
    safe: f64,
    /// Displacement per mm of the move, per axis (X, Y, Z, E).
    direction: [f64; AXES],
    /// Unit vector of the XYZ motion; zero for extruder-only moves.
    unit: [f64; 3],
}

/// Windows of moves buffered before the planner runs; all but the newest window are then
/// committed. As in PrusaSlicer's estimator, every committed move has at least a window of moves
/// after it, and each move goes through the passes about 1⅓ times instead of twice.
const BUFFERED_WINDOWS: usize = 4;

impl Prev {
    const NONE: Self = Self {
        nominal: 0.0,
        safe: 0.0,
        direction: [0.0; AXES],
        unit: [0.0; 3],
    };
}

/// Marlin's planner. Memory is bounded by four times the look-ahead window.
pub struct MarlinPlanner {
    limits: Limits,
    reciprocals: Reciprocals,
    blocks: Vec<Block>,
    window: usize,
    /// The previous move; a nominal speed of zero stands for none (after a stop).
    prev: Prev,
}

/// Time to run a trapezoid from `entry` to `exit` with cruise `nominal` over `distance`.
#[inline]
pub fn trapezoid_time(entry: f64, exit: f64, nominal: f64, accel: f64, distance: f64) -> f64 {
    if distance <= 0.0 {
        return 0.0;
    }
    let nominal = nominal.max(1e-6);
    let entry = entry.clamp(0.0, nominal);
    let exit = exit.clamp(0.0, nominal);
    if accel <= 0.0 || !accel.is_finite() {
        return distance / nominal;
    }
    // Compared and combined over a common denominator: one division per move, not three.
    let nominal2 = nominal * nominal;
    let acc_d2a = (nominal2 - entry * entry).max(0.0);
    let dec_d2a = (nominal2 - exit * exit).max(0.0);
    // cruise distance × 2a
    let cruise_d2a = 2.0 * accel * distance - acc_d2a - dec_d2a;
    if cruise_d2a >= 0.0 {
        // ramps: (2·nominal − entry − exit)/a; cruise: cruise_d/nominal
        ((2.0 * nominal - entry - exit) * 2.0 * nominal + cruise_d2a) / (2.0 * accel * nominal)
    } else {
        // acceleration distance × 4a, within 0..4a·distance
        let acc_d4a = (2.0 * accel * distance - entry * entry + exit * exit)
            .clamp(0.0, 4.0 * accel * distance);
        let peak = (entry * entry + 0.5 * acc_d4a).max(0.0).sqrt();
        let peak = peak.max(exit).max(entry);
        (2.0 * peak - entry - exit) / accel
    }
}

impl MarlinPlanner {
    pub fn new(profile: &Profile) -> Self {
        let window = profile.lookahead.clamp(2, 4096);
        let limits = Limits::from_profile(profile);
        Self {
            reciprocals: Reciprocals::of(&limits),
            limits,
            blocks: Vec::with_capacity(window * BUFFERED_WINDOWS + 1),
            window,
            prev: Prev::NONE,
        }
    }

    /// Changes the limits (M201, M203, M204, M205) for the moves that follow.
    pub fn update_limits(&mut self, change: impl FnOnce(&mut Limits)) {
        change(&mut self.limits);
        self.reciprocals = Reciprocals::of(&self.limits);
    }

    /// Adds a move. Committed moves report `(feature, seconds)` to `sink`.
    #[inline(always)]
    pub fn push(&mut self, mv: Move, sink: &mut impl FnMut(u16, f64)) {
        let d = mv.delta;
        let xyz2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        let xyz = xyz2.sqrt();
        let distance = if xyz > 1e-9 { xyz } else { d[3].abs() };
        // NaN and infinities fail these comparisons too.
        if !(distance > 1e-9 && distance < f64::INFINITY && mv.feedrate < f64::INFINITY) {
            return;
        }
        // 1/√x as √x · (1/x): the division runs beside the square root, not after it (the
        // per-move chain of dependent operations is what limits the speed here).
        let inv = if xyz > 1e-9 {
            xyz * (1.0 / xyz2)
        } else {
            1.0 / distance
        };
        let l = &self.limits;
        let r = &self.reciprocals;
        let length = d.map(f64::abs);
        // Every axis must stay within its limit, |d|/distance × v ≤ max: the axis most over
        // (largest |d|/max) sets the speed, and the acceleration alike.
        let most_over = |reciprocal: &[f64; AXES]| {
            let ratio = |a: usize| length[a] * reciprocal[a];
            ratio(0).max(ratio(1)).max(ratio(2).max(ratio(3)))
        };
        let mut v = mv.feedrate.max(1e-3);
        let feed_ratio = most_over(&r.feedrate);
        if v * feed_ratio > distance {
            v = distance / feed_ratio;
        }
        let mut acc = if xyz <= 1e-9 {
            l.retract_acceleration
        } else if d[3] > 0.0 {
            l.print_acceleration
        } else {
            l.travel_acceleration
        };
        // A division every move instead of a branch: whether the limit bites changes from move
        // to move, and the branch could only be resolved after the square root.
        acc = acc.min(distance / most_over(&r.acceleration));
        let acc = if acc.is_finite() && acc > 0.0 {
            acc
        } else {
            1.0
        };
        let direction = d.map(|x| x * inv);
        let unit = if xyz > 1e-9 {
            [direction[0], direction[1], direction[2]]
        } else {
            [0.0; 3]
        };

        // Speed at which this move may start from, or end at, a standstill.
        let mut safe = v;
        if l.junction_deviation.is_some() {
            safe = l.minimum_planner_speed.min(v);
        } else {
            for (len, &jerk) in length.iter().zip(&l.max_jerk) {
                let cap = if v * len * inv > jerk {
                    jerk.max(0.0)
                } else {
                    f64::INFINITY
                };
                safe = safe.min(cap);
            }
        }

        let mut vmax_junction = safe;
        let p = &self.prev;
        if p.nominal > 1e-4 {
            vmax_junction = match l.junction_deviation {
                Some(jd) => junction_deviation_speed(jd, acc, p, &unit, xyz, l, v),
                None => jerk_junction_speed(p, v, &direction, safe, &r.jerk),
            };
        }
        // The fastest entry from which the move can still brake to `safe`.
        let speed2_change = 2.0 * acc * distance;
        let v_allowable2 = safe * safe + speed2_change;
        let max_entry2 = vmax_junction * vmax_junction;
        let block = Block {
            distance,
            acceleration: acc,
            speed2_change,
            nominal: v,
            entry2: max_entry2.min(v_allowable2),
            max_entry2,
            safe,
            nominal_length: v * v <= v_allowable2,
            feature: mv.feature,
        };
        self.prev = Prev {
            nominal: v,
            safe,
            direction,
            unit,
        };
        self.blocks.push(block);
        if self.blocks.len() >= self.window * BUFFERED_WINDOWS {
            self.commit_all_but_a_window(sink);
        }
    }

    /// Kept out of line: it runs once per few hundred moves, and inlined it would crowd the
    /// per-move code.
    #[inline(never)]
    fn commit_all_but_a_window(&mut self, sink: &mut impl FnMut(u16, f64)) {
        self.plan();
        let keep = self.window;
        self.commit(self.blocks.len() - keep, sink);
    }

    /// Runs everything still buffered to a stop (end of file, dwell, heating wait, M400).
    pub fn flush(&mut self, sink: &mut impl FnMut(u16, f64)) {
        self.plan();
        let n = self.blocks.len();
        self.commit(n, sink);
        self.prev = Prev::NONE;
    }

    fn plan(&mut self) {
        let n = self.blocks.len();
        if n < 2 {
            return;
        }
        // Reverse pass: never touches the first block (it may already be "executing") nor the
        // last one (its entry already lets it stop).
        for i in (1..n - 1).rev() {
            let next_entry2 = self.blocks[i + 1].entry2;
            let b = &mut self.blocks[i];
            if b.entry2 != b.max_entry2 {
                b.entry2 = if !b.nominal_length && b.max_entry2 > next_entry2 {
                    b.max_entry2.min(next_entry2 + b.speed2_change)
                } else {
                    b.max_entry2
                };
            }
        }
        // Forward pass.
        for i in 1..n {
            let p = self.blocks[i - 1];
            let b = &mut self.blocks[i];
            if !p.nominal_length && p.entry2 < b.entry2 {
                b.entry2 = b.entry2.min(p.entry2 + p.speed2_change);
            }
        }
    }

    fn commit(&mut self, count: usize, sink: &mut impl FnMut(u16, f64)) {
        let count = count.min(self.blocks.len());
        let Some(first) = self.blocks.first() else {
            return;
        };
        let mut entry = first.entry2.sqrt();
        for (i, b) in self.blocks[..count].iter().enumerate() {
            let exit = self
                .blocks
                .get(i + 1)
                .map_or(b.safe, |next| next.entry2.sqrt());
            let t = trapezoid_time(entry, exit, b.nominal, b.acceleration, b.distance);
            sink(b.feature, t);
            entry = exit;
        }
        self.blocks.drain(..count);
    }
}

#[inline]
fn jerk_junction_speed(
    p: &Prev,
    v: f64,
    direction: &[f64; AXES],
    safe: f64,
    jerk_reciprocal: &[f64; AXES],
) -> f64 {
    let mut vmax = v.min(p.nominal);
    let mut most_over: f64 = 0.0;
    for a in 0..AXES {
        let v_exit = vmax * p.direction[a];
        let v_entry = v * direction[a];
        // Coasting in one direction counts the difference, a reversal the larger speed.
        let jerk = if v_exit * v_entry < 0.0 {
            v_exit.abs().max(v_entry.abs())
        } else {
            (v_exit - v_entry).abs()
        };
        // A zero jerk limit makes 0 × ∞ = NaN for an axis that does not change: `max` skips it.
        most_over = most_over.max(jerk * jerk_reciprocal[a]);
    }
    // Without a branch: whether a corner is limited changes from move to move, and a
    // mispredicted branch here waits for the whole chain of square root and divisions above.
    vmax /= most_over.max(1.0);
    let threshold = vmax * 0.99;
    if p.safe.min(safe) > threshold {
        safe
    } else {
        vmax
    }
}

fn junction_deviation_speed(
    jd: f64,
    acc: f64,
    p: &Prev,
    unit: &[f64; 3],
    xyz: f64,
    l: &Limits,
    v: f64,
) -> f64 {
    let min_speed = l.minimum_planner_speed.min(v);
    if xyz <= 1e-9 || p.unit == [0.0; 3] {
        // Extruder-only moves on either side: no corner to speak of; Marlin treats them as a
        // stop-and-go at low speed.
        return min_speed;
    }
    let cos_theta = -(p.unit[0] * unit[0] + p.unit[1] * unit[1] + p.unit[2] * unit[2]);
    if cos_theta > 0.999_999 {
        return min_speed;
    }
    let cos_theta = cos_theta.max(-0.999_999);
    let sin_half = (0.5 * (1.0 - cos_theta)).max(0.0).sqrt();
    let vsq = acc * jd.max(0.0) * sin_half / (1.0 - sin_half).max(1e-12);
    vsq.sqrt().min(v).min(p.nominal).max(min_speed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-9)
    }

    #[test]
    fn trapezoid_from_rest_to_rest() {
        // v = 100 mm/s, a = 1000 mm/s², d = 100 mm: two ramps of v/a = 0.1 s covering v²/a = 10 mm,
        // then (d - v²/a)/v = 0.9 s of cruise: t = 2v/a + (d - v²/a)/v = d/v + v/a = 1.1 s.
        let t = trapezoid_time(0.0, 0.0, 100.0, 1000.0, 100.0);
        assert!(close(t, 1.1, 1e-12), "{t}");
    }

    #[test]
    fn triangle_when_too_short_to_cruise() {
        // d = 4 mm, a = 1000: peak = sqrt(a d) = 63.2 mm/s, t = 2 sqrt(d/a) = 0.12649 s.
        let t = trapezoid_time(0.0, 0.0, 100.0, 1000.0, 4.0);
        assert!(close(t, 2.0 * (4.0f64 / 1000.0).sqrt(), 1e-9), "{t}");
    }

    #[test]
    fn straight_line_segments_keep_full_speed() {
        // Ten collinear 10 mm moves at 100 mm/s must take as long as one 100 mm move.
        let mut p = Profile::prusa_mk3s();
        p.max_jerk = [0.0; 4];
        p.max_acceleration = [1000.0; 4];
        p.travel_acceleration = 1000.0;
        let mut planner = MarlinPlanner::new(&p);
        let mut total = 0.0;
        for _ in 0..10 {
            planner.push(
                Move {
                    delta: [10.0, 0.0, 0.0, 0.0],
                    feedrate: 100.0,
                    feature: 0,
                },
                &mut |_, t| total += t,
            );
        }
        planner.flush(&mut |_, t| total += t);
        assert!(close(total, 1.1, 1e-6), "{total}");
    }

    #[test]
    fn long_window_streams_with_bounded_buffer() {
        let mut p = Profile::prusa_mk3s();
        // 8 buffered 1 mm moves are enough to stop from 100 mm/s at 1000 mm/s² (needs 5 mm).
        p.lookahead = 8;
        p.max_jerk = [0.0; 4];
        p.max_acceleration = [1000.0; 4];
        p.travel_acceleration = 1000.0;
        let mut planner = MarlinPlanner::new(&p);
        let mut total = 0.0;
        for _ in 0..1000 {
            planner.push(
                Move {
                    delta: [1.0, 0.0, 0.0, 0.0],
                    feedrate: 100.0,
                    feature: 0,
                },
                &mut |_, t| total += t,
            );
            assert!(planner.blocks.len() < 8 * BUFFERED_WINDOWS);
        }
        planner.flush(&mut |_, t| total += t);
        // 1000 mm at 100 mm/s with 0.1 s ramps at each end: 10.1 s.
        assert!(close(total, 10.1, 1e-6), "{total}");
    }

    #[test]
    fn right_angle_corner_slows_down() {
        let mut p = Profile::prusa_mk3s();
        p.max_acceleration = [1000.0; 4];
        p.travel_acceleration = 1000.0;
        p.max_jerk = [0.0; 4];
        let run = |p: &Profile, second: [f64; 4]| {
            let mut planner = MarlinPlanner::new(p);
            let mut total = 0.0;
            let mut sink = |_, t| total += t;
            planner.push(
                Move {
                    delta: [100.0, 0.0, 0.0, 0.0],
                    feedrate: 100.0,
                    feature: 0,
                },
                &mut sink,
            );
            planner.push(
                Move {
                    delta: second,
                    feedrate: 100.0,
                    feature: 0,
                },
                &mut sink,
            );
            planner.flush(&mut sink);
            total
        };
        // With zero jerk a 90° corner is a full stop: two 1.1 s moves.
        let t = run(&p, [0.0, 100.0, 0.0, 0.0]);
        assert!(close(t, 2.2, 1e-6), "{t}");
        // Junction deviation allows some corner speed, so it is faster than a full stop.
        p.junction_deviation = Some(0.05);
        let t = run(&p, [0.0, 100.0, 0.0, 0.0]);
        assert!(t < 2.2 && t > 2.0, "{t}");
    }
}
