#!/usr/bin/env python3
"""Builds the PrusaSlicer accuracy corpus: generates simple models as STL, slices each case with
Debian's `prusa-slicer` (2.5) headless, and writes `<case>.gcode` next to this script.

The G-code files are committed so `cargo test` needs no slicer; run this script again (it installs
nothing) to rebuild them after changing a case. Every case uses a Marlin flavour with the machine
limits emitted into the G-code, so the file itself carries the limits PrusaSlicer estimated with.

Usage: crates/gcode/tests/corpus/make.py [case ...]
"""
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


# --- models: lists of triangles ((x, y, z) * 3), outward-facing, in mm ---------------------------

def box(sx, sy, sz):
    v = [(x, y, z) for x in (0, sx) for y in (0, sy) for z in (0, sz)]
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = []
    for a, b, c, d in quads:
        tris += [(v[a], v[b], v[c]), (v[a], v[c], v[d])]
    return tris


def revolve(profile, segments):
    """Surface of revolution around Z from a list of (radius, z) points, bottom to top."""
    tris = []
    ring = lambda r, z, i: (r * math.cos(2 * math.pi * i / segments), r * math.sin(2 * math.pi * i / segments), z)
    for (r0, z0), (r1, z1) in zip(profile, profile[1:]):
        for i in range(segments):
            a, b = ring(r0, z0, i), ring(r0, z0, i + 1)
            c, d = ring(r1, z1, i + 1), ring(r1, z1, i)
            if r0 > 0:
                tris.append((a, b, c))
            if r1 > 0:
                tris.append((a, c, d))
    # Caps where the profile starts or ends away from the axis.
    for (r, z), up in ((profile[0], False), (profile[-1], True)):
        if r > 0:
            for i in range(segments):
                a, b = ring(r, z, i), ring(r, z, i + 1)
                tris.append(((0, 0, z), a, b) if up else ((0, 0, z), b, a))
    return tris


def cylinder(radius, height, segments=96):
    return revolve([(radius, 0), (radius, height)], segments)


def cone(r_bottom, r_top, height, segments=96):
    return revolve([(r_bottom, 0), (r_top, height)], segments)


def sphere(radius, rings=48, segments=96):
    prof = [(radius * math.sin(math.pi * k / rings), radius - radius * math.cos(math.pi * k / rings)) for k in range(rings + 1)]
    return revolve(prof, segments)


def torus(major, minor, rings=48, segments=96):
    """A torus lying flat, made as an outer and an inner surface of revolution."""
    tris = []
    prof = [(major + minor * math.cos(math.pi * (1.5 - k / rings * 2)) , minor + minor * math.sin(math.pi * (1.5 - k / rings * 2))) for k in range(rings + 1)]
    ring = lambda r, z, i: (r * math.cos(2 * math.pi * i / segments), r * math.sin(2 * math.pi * i / segments), z)
    for (r0, z0), (r1, z1) in zip(prof, prof[1:]):
        for i in range(segments):
            a, b = ring(r0, z0, i), ring(r0, z0, i + 1)
            c, d = ring(r1, z1, i + 1), ring(r1, z1, i)
            tris += [(a, b, c), (a, c, d)]
    return tris


def write_stl(path, tris):
    with open(path, "wb") as f:
        f.write(b"farmhand corpus".ljust(80, b" "))
        f.write(struct.pack("<I", len(tris)))
        for t in tris:
            (ax, ay, az), (bx, by, bz), (cx, cy, cz) = t
            ux, uy, uz = bx - ax, by - ay, bz - az
            vx, vy, vz = cx - ax, cy - ay, cz - az
            n = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx)
            length = math.sqrt(sum(c * c for c in n)) or 1.0
            f.write(struct.pack("<12fH", *(c / length for c in n), ax, ay, az, bx, by, bz, cx, cy, cz, 0))


# --- printer and cases -----------------------------------------------------------------------------

START = "M107\\nM104 S[first_layer_temperature]\\nM140 S[first_layer_bed_temperature]\\nG28\\nM190 S[first_layer_bed_temperature]\\nM109 S[first_layer_temperature]\\nG92 E0\\nG1 Z0.3 F720\\nG1 X5 Y5 F6000\\nG1 X60 E9 F1000\\nG1 X100 E12.5 F1000\\nG92 E0"
END = "G1 E-1 F2100\\nG1 Z{max_layer_z + 10} F720\\nG1 X0 Y200 F6000\\nM104 S0\\nM140 S0\\nM107\\nM84"

# A Prusa i3 MK3S-like Marlin 2 printer in normal (not stealth) mode.
BASE = {
    "bed_shape": "0x0,250x0,250x210,0x210",
    "max_print_height": "210",
    "gcode_flavor": "marlin2",
    "machine_limits_usage": "emit_to_gcode",
    "machine_max_acceleration_x": "1000,960",
    "machine_max_acceleration_y": "1000,960",
    "machine_max_acceleration_z": "200,200",
    "machine_max_acceleration_e": "5000,5000",
    "machine_max_acceleration_extruding": "1250,1250",
    "machine_max_acceleration_retracting": "1250,1250",
    "machine_max_acceleration_travel": "1500,1250",
    "machine_max_feedrate_x": "200,100",
    "machine_max_feedrate_y": "200,100",
    "machine_max_feedrate_z": "12,12",
    "machine_max_feedrate_e": "120,120",
    "machine_max_jerk_x": "8,8",
    "machine_max_jerk_y": "8,8",
    "machine_max_jerk_z": "0.4,0.4",
    "machine_max_jerk_e": "4.5,4.5",
    "machine_min_extruding_rate": "0,0",
    "machine_min_travel_rate": "0,0",
    "silent_mode": "0",
    "nozzle_diameter": "0.4",
    "filament_diameter": "1.75",
    "filament_density": "1.24",
    "filament_type": "PLA",
    "temperature": "215",
    "first_layer_temperature": "215",
    "bed_temperature": "60",
    "first_layer_bed_temperature": "60",
    "retract_length": "0.8",
    "retract_speed": "35",
    "retract_lift": "0",
    "use_relative_e_distances": "1",
    "layer_gcode": "G92 E0",
    "start_gcode": START,
    "end_gcode": END,
    "layer_height": "0.2",
    "first_layer_height": "0.2",
    "perimeters": "2",
    "top_solid_layers": "4",
    "bottom_solid_layers": "3",
    "fill_density": "20%",
    "skirts": "1",
    "travel_speed": "180",
    "perimeter_speed": "45",
    "external_perimeter_speed": "25",
    "infill_speed": "80",
    "solid_infill_speed": "80",
    "top_solid_infill_speed": "40",
    "first_layer_speed": "20",
    "cooling": "1",
    "slowdown_below_layer_time": "5",
    "min_print_speed": "15",
    "gcode_resolution": "0.02",
}

CASES = {
    # A plain calibration cube at the default settings.
    "cube20": (lambda: box(20, 20, 20), {}),
    # Spiral vase: one continuous perimeter with Z rising along it.
    "vase_cylinder": (lambda: cylinder(15, 30), {
        "spiral_vase": "1", "perimeters": "1", "top_solid_layers": "0", "fill_density": "0%",
        "bottom_solid_layers": "3",
    }),
    # Fine layers, slow perimeters, curved outlines (many short segments).
    "sphere_fine": (lambda: sphere(9, 36, 72), {
        "layer_height": "0.1", "fill_density": "15%", "fill_pattern": "gyroid",
        "perimeter_speed": "30", "external_perimeter_speed": "20",
    }),
    # A flat plate with solid rectilinear infill at high speed and acceleration.
    "plate_fast": (lambda: box(80, 60, 2.4), {
        "fill_density": "100%", "fill_pattern": "rectilinear", "infill_speed": "200",
        "solid_infill_speed": "200", "top_solid_infill_speed": "100", "perimeter_speed": "120",
        "external_perimeter_speed": "80", "travel_speed": "250",
        "machine_max_acceleration_x": "3000,3000", "machine_max_acceleration_y": "3000,3000",
        "machine_max_acceleration_extruding": "3000,3000", "machine_max_acceleration_travel": "3000,3000",
        "machine_max_feedrate_x": "300,300", "machine_max_feedrate_y": "300,300",
        "machine_max_jerk_x": "10,10", "machine_max_jerk_y": "10,10",
    }),
    # An upside-down cone on supports, thick layers through a 0.6 mm nozzle.
    "cone_supports": (lambda: cone(4, 14, 18), {
        "nozzle_diameter": "0.6", "layer_height": "0.3", "first_layer_height": "0.3",
        "support_material": "1", "support_material_auto": "1", "fill_density": "10%",
    }),
    # A legacy-Marlin machine (M204 S) with low acceleration, absolute extrusion.
    "legacy_low_accel": (lambda: box(30, 30, 10), {
        "gcode_flavor": "marlin", "use_relative_e_distances": "0", "layer_gcode": "",
        "machine_max_acceleration_x": "500,500", "machine_max_acceleration_y": "500,500",
        "machine_max_acceleration_extruding": "500,500", "machine_max_acceleration_retracting": "1000,1000",
        "machine_max_jerk_x": "10,10", "machine_max_jerk_y": "10,10", "machine_max_jerk_e": "5,5",
        "travel_speed": "120", "fill_pattern": "grid", "fill_density": "25%",
    }),
    # Four parts: many travels, retractions with Z hops, per-feature accelerations (M204 mid-file).
    "multi_parts_accels": (lambda: cylinder(6, 8, 64), {
        "duplicate": "4", "retract_lift": "0.4", "retract_before_travel": "1",
        "default_acceleration": "1000", "perimeter_acceleration": "800", "infill_acceleration": "1250",
        "first_layer_acceleration": "600", "bridge_acceleration": "1000", "fill_pattern": "honeycomb",
    }),
    # A thin tower: cooling slows small layers down (low F values), very short moves.
    "tower_cooling": (lambda: box(8, 8, 30), {
        "slowdown_below_layer_time": "15", "min_print_speed": "8", "fill_density": "40%",
    }),
    # A torus with gyroid infill, 0.15 mm layers, faster travel, and a brim.
    "torus_gyroid": (lambda: torus(11, 4, 36, 72), {
        "layer_height": "0.15", "fill_density": "30%", "fill_pattern": "gyroid", "brim_width": "4",
        "travel_speed": "200", "infill_speed": "120",
    }),
}


def slice_case(name, tmp):
    model, overrides = CASES[name]
    stl = os.path.join(tmp, name + ".stl")
    write_stl(stl, model())
    settings = dict(BASE, **overrides)
    extra = []
    duplicate = settings.pop("duplicate", None)
    if duplicate:
        extra += ["--duplicate", duplicate]
    ini = os.path.join(tmp, name + ".ini")
    with open(ini, "w") as f:
        for k, v in settings.items():
            f.write(f"{k} = {v}\n")
    out = os.path.join(HERE, name + ".gcode")
    cmd = ["prusa-slicer", "--export-gcode", "--load", ini, *extra, "--center", "125,105",
           "--output", out, stl]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [l for l in done.stderr.splitlines() + done.stdout.splitlines() if "[trace]" not in l]
        sys.exit(f"{name}: prusa-slicer failed:\n" + "\n".join(errors[-10:]))
    print(f"{name}: {os.path.getsize(out) / 1e6:.2f} MB")


def main():
    names = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            slice_case(name, tmp)


if __name__ == "__main__":
    main()
