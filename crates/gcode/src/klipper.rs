//! Klipper's motion planner, used only to estimate time: moves are limited by the toolhead's
//! velocity and acceleration, corners by "approximated centripetal velocity" derived from the
//! square corner velocity, and short moves by the minimum cruise ratio (Klipper smooths the
//! acceleration it plans with so that zig-zags do not reach full speed). Speeds are handled squared,
//! as Klipper's look-ahead does.

use std::collections::VecDeque;

use crate::planner::Move;
use crate::profile::KlipperLimits;

/// One move in the look-ahead queue, with the limits that applied when it was queued.
#[derive(Debug, Clone, Copy)]
struct KMove {
    distance: f64,
    accel: f64,
    junction_deviation: f64,
    /// Direction (unit vector over X, Y, Z) and extrusion per mm of travel.
    axes_r: [f64; 4],
    kinematic: bool,
    max_cruise_v2: f64,
    /// Speed² gained by accelerating over the whole move.
    delta_v2: f64,
    /// The same with the smoothed acceleration of the minimum cruise ratio.
    smoothed_delta_v2: f64,
    max_start_v2: f64,
    max_smoothed_v2: f64,
    feature: u16,
    /// Planned junction speeds², written by the look-ahead pass.
    start_v2: f64,
    cruise_v2: f64,
    end_v2: f64,
}

impl KMove {
    /// Time to run the planned profile: accelerate, cruise, decelerate.
    fn time(&self) -> f64 {
        let half_inv_accel = 0.5 / self.accel;
        let accel_d = ((self.cruise_v2 - self.start_v2) * half_inv_accel).max(0.0);
        let decel_d = ((self.cruise_v2 - self.end_v2) * half_inv_accel).max(0.0);
        let cruise_d = (self.distance - accel_d - decel_d).max(0.0);
        let (start_v, cruise_v, end_v) = (
            self.start_v2.sqrt(),
            self.cruise_v2.sqrt(),
            self.end_v2.sqrt(),
        );
        if cruise_v <= 1e-9 {
            return 0.0;
        }
        accel_d / ((start_v + cruise_v) * 0.5)
            + cruise_d / cruise_v
            + decel_d / ((end_v + cruise_v) * 0.5)
    }
}

/// The planner. Memory is bounded by twice the look-ahead window.
pub struct KlipperPlanner {
    /// Current limits; changed by M204 and `SET_VELOCITY_LIMIT`.
    pub limits: KlipperLimits,
    queue: VecDeque<KMove>,
    /// Moves waiting for a later, faster move before their cruise speed is known (reused buffer).
    delayed: Vec<(usize, f64, f64)>,
    window: usize,
    /// The last queued move, for the junction with the next one.
    last: Option<KMove>,
}

impl KlipperPlanner {
    pub fn new(limits: KlipperLimits, lookahead: usize) -> Self {
        let window = lookahead.clamp(2, 4096);
        Self {
            limits,
            queue: VecDeque::with_capacity(window * 2 + 1),
            delayed: Vec::new(),
            window,
            last: None,
        }
    }

    fn junction_deviation(&self) -> f64 {
        let scv = self.limits.square_corner_velocity.max(0.0);
        scv * scv * (std::f64::consts::SQRT_2 - 1.0) / self.accel()
    }

    fn accel(&self) -> f64 {
        positive_or(self.limits.max_accel, 1.0)
    }

    pub fn push(&mut self, mv: Move, sink: &mut impl FnMut(u16, f64)) {
        let d = mv.delta;
        if d.iter().any(|v| !v.is_finite()) || !mv.feedrate.is_finite() {
            return;
        }
        let xyz = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        let l = &self.limits;
        let kinematic = xyz > 1e-9;
        let distance = if kinematic { xyz } else { d[3].abs() };
        if distance <= 1e-9 {
            return;
        }
        let mut velocity = mv.feedrate.max(1e-3);
        let mut accel = self.accel();
        if kinematic {
            velocity = velocity.min(positive_or(l.max_velocity, velocity));
            if d[2].abs() > 1e-12 {
                let z_ratio = distance / d[2].abs();
                velocity = velocity.min(positive_or(l.max_z_velocity, velocity) * z_ratio);
                accel = accel.min(positive_or(l.max_z_accel, accel) * z_ratio);
            }
        } else {
            velocity = velocity.min(positive_or(l.max_extrude_only_velocity, velocity));
            accel = accel.min(positive_or(l.max_extrude_only_accel, accel));
        }
        let cruise_ratio = l.minimum_cruise_ratio.clamp(0.0, 1.0);
        let accel_to_decel = accel * (1.0 - cruise_ratio);
        let inv = 1.0 / distance;
        let mut m = KMove {
            distance,
            accel,
            junction_deviation: self.junction_deviation(),
            axes_r: [d[0] * inv, d[1] * inv, d[2] * inv, d[3] * inv],
            kinematic,
            max_cruise_v2: velocity * velocity,
            delta_v2: 2.0 * distance * accel,
            smoothed_delta_v2: 2.0 * distance * accel_to_decel,
            max_start_v2: 0.0,
            max_smoothed_v2: 0.0,
            feature: mv.feature,
            start_v2: 0.0,
            cruise_v2: 0.0,
            end_v2: 0.0,
        };
        if let Some(prev) = self.last {
            self.calc_junction(&prev, &mut m);
        }
        self.last = Some(m);
        self.queue.push_back(m);
        if self.queue.len() >= self.window * 2 {
            self.plan();
            let count = self.queue.len() - self.window;
            self.commit(count, sink);
        }
    }

    /// Largest speed² at the junction of `prev` and `m` (Klipper's `Move.calc_junction`).
    fn calc_junction(&self, prev: &KMove, m: &mut KMove) {
        if !m.kinematic || !prev.kinematic {
            return;
        }
        // The extruder limits how abruptly the extrusion rate may change at the corner.
        let diff_r = m.axes_r[3] - prev.axes_r[3];
        let extruder_v2 = if diff_r.abs() > 1e-12 {
            let v = self.limits.instant_corner_velocity.max(0.0) / diff_r.abs();
            v * v
        } else {
            m.max_cruise_v2
        };
        let mut max_start_v2 = extruder_v2
            .min(m.max_cruise_v2)
            .min(prev.max_cruise_v2)
            .min(prev.max_start_v2 + prev.delta_v2);
        let cos_theta = -(m.axes_r[0] * prev.axes_r[0]
            + m.axes_r[1] * prev.axes_r[1]
            + m.axes_r[2] * prev.axes_r[2]);
        if cos_theta > 0.999_999 {
            // The move reverses: a full stop.
            return;
        }
        let sin_theta_d2 = (0.5 * (1.0 - cos_theta)).max(0.0).sqrt();
        let cos_theta_d2 = (0.5 * (1.0 + cos_theta)).max(0.0).sqrt();
        let one_minus_sin_theta_d2 = 1.0 - sin_theta_d2;
        if one_minus_sin_theta_d2 > 0.0 && cos_theta_d2 > 0.0 {
            let r_jd = sin_theta_d2 / one_minus_sin_theta_d2;
            let move_jd_v2 = r_jd * m.junction_deviation * m.accel;
            let prev_jd_v2 = r_jd * prev.junction_deviation * prev.accel;
            // The approximated circle must touch the moves no further than half-way along them.
            let quarter_tan_theta_d2 = 0.25 * sin_theta_d2 / cos_theta_d2;
            let move_centripetal_v2 = m.delta_v2 * quarter_tan_theta_d2;
            let prev_centripetal_v2 = prev.delta_v2 * quarter_tan_theta_d2;
            max_start_v2 = max_start_v2
                .min(move_jd_v2)
                .min(prev_jd_v2)
                .min(move_centripetal_v2)
                .min(prev_centripetal_v2);
        }
        m.max_start_v2 = max_start_v2;
        m.max_smoothed_v2 = max_start_v2.min(prev.max_smoothed_v2 + prev.smoothed_delta_v2);
    }

    /// Runs everything still queued to a stop (end of file, dwell, heating wait, M400).
    pub fn flush(&mut self, sink: &mut impl FnMut(u16, f64)) {
        self.plan();
        let n = self.queue.len();
        self.commit(n, sink);
        self.last = None;
    }

    /// Klipper's look-ahead pass, from the newest move back to the oldest, assuming the toolhead
    /// stops after the newest one.
    fn plan(&mut self) {
        let mut next_end_v2 = 0.0_f64;
        let mut next_smoothed_v2 = 0.0_f64;
        let mut peak_cruise_v2 = 0.0_f64;
        self.delayed.clear();
        for i in (0..self.queue.len()).rev() {
            let m = self.queue[i];
            let reachable_start_v2 = next_end_v2 + m.delta_v2;
            let start_v2 = m.max_start_v2.min(reachable_start_v2);
            let reachable_smoothed_v2 = next_smoothed_v2 + m.smoothed_delta_v2;
            let smoothed_v2 = m.max_smoothed_v2.min(reachable_smoothed_v2);
            if smoothed_v2 < reachable_smoothed_v2 {
                // This move can accelerate.
                if smoothed_v2 + m.smoothed_delta_v2 > next_smoothed_v2 || !self.delayed.is_empty()
                {
                    // ... and decelerate, or it accelerates fully after moves that decelerate
                    // fully: the peak cruise speed between them is now known.
                    peak_cruise_v2 = m
                        .max_cruise_v2
                        .min((smoothed_v2 + reachable_smoothed_v2) * 0.5);
                    self.release_delayed(peak_cruise_v2);
                }
                let cruise_v2 = ((start_v2 + reachable_start_v2) * 0.5)
                    .min(m.max_cruise_v2)
                    .min(peak_cruise_v2);
                let q = &mut self.queue[i];
                q.start_v2 = start_v2.min(cruise_v2);
                q.cruise_v2 = cruise_v2;
                q.end_v2 = next_end_v2.min(cruise_v2);
            } else {
                // Its cruise speed depends on a move further back.
                self.delayed.push((i, start_v2, next_end_v2));
            }
            next_end_v2 = start_v2;
            next_smoothed_v2 = smoothed_v2;
        }
        // The oldest moves may still be waiting when the queue starts mid-motion.
        self.release_delayed(f64::INFINITY);
    }

    fn release_delayed(&mut self, peak_cruise_v2: f64) {
        let mut cruise_v2 = peak_cruise_v2;
        for &(j, start_v2, end_v2) in self.delayed.iter().rev() {
            let m = &mut self.queue[j];
            cruise_v2 = cruise_v2.min(start_v2).min(m.max_cruise_v2);
            m.start_v2 = start_v2.min(cruise_v2);
            m.cruise_v2 = cruise_v2;
            m.end_v2 = end_v2.min(cruise_v2);
        }
        self.delayed.clear();
    }

    fn commit(&mut self, count: usize, sink: &mut impl FnMut(u16, f64)) {
        let mut end_v2 = None;
        for _ in 0..count {
            let Some(m) = self.queue.pop_front() else {
                break;
            };
            sink(m.feature, m.time());
            end_v2 = Some(m.end_v2);
        }
        // What was committed is final: the next plan starts from the speed it ended at.
        if let (Some(end_v2), Some(head)) = (end_v2, self.queue.front_mut()) {
            head.max_start_v2 = head.max_start_v2.min(end_v2);
            head.max_smoothed_v2 = head.max_smoothed_v2.min(end_v2);
        }
    }
}

fn positive_or(value: f64, fallback: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        fallback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(accel: f64, scv: f64, cruise_ratio: f64) -> KlipperLimits {
        KlipperLimits {
            max_velocity: 500.0,
            max_accel: accel,
            square_corner_velocity: scv,
            minimum_cruise_ratio: cruise_ratio,
            ..KlipperLimits::default()
        }
    }

    fn run(limits: KlipperLimits, moves: &[[f64; 4]], feedrate: f64) -> f64 {
        let mut planner = KlipperPlanner::new(limits, 8);
        let mut total = 0.0;
        let mut sink = |_, t| total += t;
        for &delta in moves {
            planner.push(
                Move {
                    delta,
                    feedrate,
                    feature: 0,
                },
                &mut sink,
            );
        }
        planner.flush(&mut sink);
        total
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn collinear_segments_keep_full_speed() {
        // 100 mm at 100 mm/s, a = 1000: 0.1 s ramps at each end, 1.1 s in all, however it is cut.
        let t = run(
            limits(1000.0, 5.0, 0.0),
            &[[10.0, 0.0, 0.0, 0.0]; 10],
            100.0,
        );
        assert!(close(t, 1.1), "{t}");
    }

    #[test]
    fn minimum_cruise_ratio_caps_short_moves() {
        // d = 4 mm, a = 1000. Without smoothing: a triangle to sqrt(a d) = 63.2 mm/s, 0.1265 s.
        let plain = run(limits(1000.0, 5.0, 0.0), &[[4.0, 0.0, 0.0, 0.0]], 100.0);
        assert!(close(plain, 2.0 * (4.0f64 / 1000.0).sqrt()), "{plain}");
        // With a 0.5 cruise ratio the peak is v² = d a (1 - 0.5) = 2000: 1 mm up, 2 mm of cruise,
        // 1 mm down at 44.72 mm/s: 2 × 1/(44.72/2) + 2/44.72 = 0.134164 s.
        let smoothed = run(limits(1000.0, 5.0, 0.5), &[[4.0, 0.0, 0.0, 0.0]], 100.0);
        let v = 2000.0f64.sqrt();
        assert!(close(smoothed, 4.0 / v + 2.0 / v), "{smoothed}");
    }

    #[test]
    fn square_corner_is_taken_at_the_square_corner_velocity() {
        // Two 100 mm legs at 100 mm/s with a = 1000 and a 90° corner at 5 mm/s: each leg takes
        // 0.1 s up (5 mm), 0.095 s down to 5 mm/s (4.9875 mm) and 90.0125 mm of cruise.
        let t = run(
            limits(1000.0, 5.0, 0.0),
            &[[100.0, 0.0, 0.0, 0.0], [0.0, 100.0, 0.0, 0.0]],
            100.0,
        );
        let leg = 0.1 + 0.095 + 0.900125;
        assert!(close(t, 2.0 * leg), "{t}");
    }

    #[test]
    fn reversal_stops() {
        let t = run(
            limits(1000.0, 5.0, 0.0),
            &[[100.0, 0.0, 0.0, 0.0], [-100.0, 0.0, 0.0, 0.0]],
            100.0,
        );
        assert!(close(t, 2.2), "{t}");
    }

    #[test]
    fn long_streams_match_one_plan_and_stay_bounded() {
        // 1000 collinear 1 mm moves: the same 10.1 s as one 1000 mm move, as long as the window
        // (16 mm here) covers the smoothed stopping distance (v² / 2a(1 - ratio) = 10 mm).
        let mut planner = KlipperPlanner::new(limits(1000.0, 5.0, 0.5), 16);
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
            assert!(planner.queue.len() < 32);
        }
        planner.flush(&mut |_, t| total += t);
        assert!((total - 10.1).abs() < 1e-6, "{total}");
    }
}
