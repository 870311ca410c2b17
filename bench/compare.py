#!/usr/bin/env python3
"""The peers, side by side: checks, times (hyperfine), peak RSS, report.

Called by bench/run.sh once the tools are built and the workloads exist; see
bench/README.md.  Each workload directory holds:
  objects.txt     the objects, one path a line, the one with main first
  so_objects.txt  the objects for `gcc -shared` (same, or -fPIC builds)
  libs.txt        extra libraries for gcc and tcc (e.g. -lm), may be empty
  expected.txt    the exact stdout of a correct run
"""
import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time

TOOLS = ["elfjit run", "llvm-jitlink", "tcc -run", "gcc link + run", "exe-run", "dlopen .so",
         "elfjit image", "elfjit image (z)", "elfjit cache hit"]

# Images (issue 13): (workload, what, peer, limit on what / peer).
IMAGE_TARGETS = [
    ("sqlite", "elfjit image", "dlopen .so", 1.0), ("medium", "elfjit image", "dlopen .so", 1.0),
    ("large", "elfjit image", "dlopen .so", 1.0),
    ("sqlite", "elfjit image", "exe-run", 1.2), ("medium", "elfjit image", "exe-run", 1.2),
    ("sqlite", "elfjit image (z)", "elfjit image", 1.5),
    ("medium", "elfjit image (z)", "elfjit image", 1.5),
    ("sqlite", "elfjit cache hit", "elfjit image", 1.05),
    ("medium", "elfjit cache hit", "elfjit image", 1.05),
]

# (workload, peer, limit on elfjit / peer) from issue 3.
TARGETS = [
    ("small", "tcc -run", 1.0), ("medium", "tcc -run", 0.5), ("large", "tcc -run", 0.5),
    ("sqlite", "tcc -run", 0.5),
    ("small", "llvm-jitlink", 0.1), ("medium", "llvm-jitlink", 0.1),
    ("large", "llvm-jitlink", 0.1), ("sqlite", "llvm-jitlink", 0.1),
    ("small", "exe-run", 2.0), ("medium", "exe-run", 2.0), ("large", "exe-run", 3.5),
    ("sqlite", "exe-run", 2.0),
]

DESCRIPTION = {
    "small": "1 object × 10 functions",
    "medium": "10 objects × 200 functions",
    "large": "50 objects × 1000 functions",
    "sqlite": "sqlite (Debian's libsqlite3.a members + driver)",
    "sqlite_a": "sqlite (Debian's libsqlite3.a itself + driver)",
    "libcdata": "libc data (1 object reading stdout, environ, optind)",
}


def log(*a):
    print("compare:", *a, file=sys.stderr, flush=True)


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [l.strip() for l in fh if l.strip()]


def first_line(text):
    for l in text.splitlines():
        if l.strip():
            return l.strip()[:200]
    return ""


def error_line(text):
    """The first line that says error (a linker's warnings come first), else the first."""
    for l in text.splitlines():
        if "error" in l.lower() or "can not be used" in l or "undefined reference" in l:
            return l.strip()[:200]
    return first_line(text)


def describe_failure(rc, out, err, expected):
    if rc is None:
        return "timed out"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        e = first_line(err)
        return "killed by %s%s" % (name, (": " + e) if e else "")
    if rc != 0:
        e = first_line(err) or first_line(out)
        return "exit %d%s" % (rc, (": " + e) if e else "")
    if out != expected:
        return "wrong output: %r (expected %r)" % (first_line(out), expected.strip())
    return None


def run_check(argv, expected, timeout):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % timeout
    except OSError as e:
        return "cannot run: %s" % e
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    return describe_failure(p.returncode, out, err, expected)


def peak_rss_mib(argv, n):
    vals = []
    for _ in range(n):
        tf = "/tmp/ej_bench_rss.%d" % os.getpid()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf] + argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with open(tf) as fh:
                lines = [l for l in fh.read().split() if l.isdigit()]
            os.unlink(tf)
        except OSError:
            lines = []
        if p.returncode == 0 and lines:
            vals.append(int(lines[-1]) / 1024.0)
    return statistics.median(vals) if vals else None


def build_commands(wl, d, a):
    objs = read_lines(os.path.join(d, "objects.txt"))
    so_objs = read_lines(os.path.join(d, "so_objects.txt")) or objs
    libs = " ".join(read_lines(os.path.join(d, "libs.txt"))).split()
    exe = os.path.join(d, "exe")
    so = os.path.join(d, "prog.so")
    linked_exe = os.path.join(d, "exe.gcc-link")
    prep = {}
    # The pre-linked executable and the shared object, from the same objects.
    p = subprocess.run(["gcc", "-o", exe] + objs + libs, capture_output=True)
    prep["exe-run"] = None if p.returncode == 0 else "gcc link failed: " + error_line(p.stderr.decode())
    p = subprocess.run(["gcc", "-shared", "-Wl,-Bsymbolic", "-o", so] + so_objs + libs, capture_output=True)
    prep["dlopen .so"] = None if p.returncode == 0 else "gcc -shared failed: " + error_line(p.stderr.decode())
    script = "gcc -o %s %s && exec %s" % (shlex.quote(linked_exe),
                                          " ".join(shlex.quote(x) for x in objs + libs),
                                          shlex.quote(linked_exe))
    # tcc -run takes the program's file after -run and the rest before.
    # tcc reads an archive where it stands, taking only the members that
    # what came before needs: with archives, every object goes first and
    # -run gets an empty C file (main is in the objects).
    tcc = ["tcc"] + libs + objs[1:] + ["-run", objs[0]]
    if any(o.endswith(".a") for o in objs):
        stub = os.path.join(d, "tcc_run_stub.c")
        with open(stub, "w") as fh:
            fh.write("/* empty: main is in the objects given before -run */\n")
        tcc = ["tcc"] + libs + objs + ["-run", stub]
    # The images, saved once, and a cache primed by one run.
    img, zimg, cache = (os.path.join(d, "prog.eji"), os.path.join(d, "prog.z.eji"),
                        os.path.join(d, "cache"))
    for name, argv in (("elfjit image", [a.elfjit, "link", "-o", img] + objs),
                       ("elfjit image (z)", [a.elfjit, "link", "--compress", "-o", zimg] + objs)):
        p = subprocess.run(argv, capture_output=True)
        prep[name] = None if p.returncode == 0 else "elfjit link failed: " + error_line(p.stderr.decode())
    subprocess.run(["rm", "-rf", cache])
    p = subprocess.run([a.elfjit, "run", "--cache-dir", cache] + objs, capture_output=True)
    prep["elfjit cache hit"] = None if p.returncode == 0 else "priming the cache failed: " + error_line(p.stderr.decode())
    cmds = {
        "elfjit image": [a.elfjit, "run", img],
        "elfjit image (z)": [a.elfjit, "run", zimg],
        "elfjit cache hit": [a.elfjit, "run", "--cache-dir", cache] + objs,
        "elfjit run": [a.elfjit, "run"] + objs,
        "llvm-jitlink": [a.jitlink] + objs,
        "tcc -run": tcc,
        "gcc link + run": ["sh", "-c", script],
        "exe-run": [exe],
        "dlopen .so": [a.dlopen_run, so],
    }
    return cmds, prep


def hyperfine(wl, cmds, runs, warmup, rawdir):
    out = os.path.join(rawdir, "%s.json" % wl)
    argv = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs), "--style", "basic",
            "--export-json", out]
    for name, c in cmds.items():
        argv += ["-n", name, " ".join(shlex.quote(x) for x in c)]
    log("hyperfine on %s: %s" % (wl, ", ".join(cmds)))
    p = subprocess.run(argv, stdout=sys.stderr)
    note = None
    if p.returncode != 0:
        note = "hyperfine saw a failing run; timed again with -i (failures ignored)"
        log(note)
        subprocess.run(argv[:1] + ["-i"] + argv[1:], stdout=sys.stderr, check=True)
    with open(out) as fh:
        data = json.load(fh)
    res = {}
    for r in data["results"]:
        res[r["command"]] = {"median_ms": r["median"] * 1e3, "mean_ms": r["mean"] * 1e3,
                             "stddev_ms": (r.get("stddev") or 0) * 1e3, "min_ms": r["min"] * 1e3}
    return res, note


def fmt_ms(v):
    if v >= 100:
        return "%.0f ms" % v
    if v >= 10:
        return "%.1f ms" % v
    return "%.2f ms" % v


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for l in fh:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, Linux %s" % (cpu, os.cpu_count() or 0, platform.release())


def versions(a):
    def v(argv):
        try:
            p = subprocess.run(argv, capture_output=True, timeout=30)
            return first_line((p.stdout or p.stderr).decode(errors="replace"))
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    return {
        "gcc": v(["gcc", "--version"]),
        "tcc": v(["tcc", "-v"]),
        "llvm-jitlink": v([a.jitlink, "--version"]).replace("LLVM (http://llvm.org/):", "").strip() or
        v([a.jitlink, "--version"]),
        "hyperfine": v(["hyperfine", "--version"]),
        "elfjit": v([a.elfjit, "--version"]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--elfjit", required=True)
    ap.add_argument("--jitlink", required=True)
    ap.add_argument("--dlopen-run", required=True)
    ap.add_argument("--stages")
    ap.add_argument("--workloads", default="small,medium,large,sqlite,sqlite_a,libcdata")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bss", help="directory with bss-big.o and bss-small.o")
    ap.add_argument("--started", type=float, default=time.time())
    a = ap.parse_args()

    rawdir = os.path.join(a.results, "raw")
    os.makedirs(rawdir, exist_ok=True)
    if a.quick:
        runs = {"small": 5, "medium": 5, "large": 2, "sqlite": 5, "sqlite_a": 5, "libcdata": 5}
        warm, rss_n, check_timeout = 1, 1, 300
        stage_n = {"small": 5, "medium": 5, "large": 2, "sqlite": 5, "sqlite_a": 5}
    else:
        runs = {"small": 30, "medium": 20, "large": 10, "sqlite": 30, "sqlite_a": 30,
                "libcdata": 30}
        warm, rss_n, check_timeout = 3, 5, 300
        stage_n = {"small": 200, "medium": 40, "large": 10, "sqlite": 40, "sqlite_a": 40}

    results = {"machine": machine(), "versions": versions(a), "quick": a.quick, "workloads": {}}
    for wl in a.workloads.split(","):
        d = os.path.join(a.work, wl)
        if not os.path.isdir(d):
            log("no workload %s in %s" % (wl, a.work))
            continue
        expected = open(os.path.join(d, "expected.txt")).read()
        info = {}
        if os.path.exists(os.path.join(d, "info.json")):
            info = json.load(open(os.path.join(d, "info.json")))
        cmds, prep = build_commands(wl, d, a)
        failures, passing = {}, {}
        for name in TOOLS:
            why = prep.get(name)
            if why is None:
                t0 = time.time()
                why = run_check(cmds[name], expected, check_timeout)
                log("%s / %s: %s (%.2f s)" % (wl, name, why or "ok", time.time() - t0))
            else:
                log("%s / %s: %s" % (wl, name, why))
            if why:
                failures[name] = why
            else:
                passing[name] = cmds[name]
        times, note = ({}, None)
        if passing:
            times, note = hyperfine(wl, passing, runs.get(wl, 10), warm, rawdir)
        rss = {}
        for name, c in passing.items():
            rss[name] = peak_rss_mib(c, rss_n)
        stages_txt = None
        if a.stages and "elfjit run" in passing and wl in stage_n:
            objs = read_lines(os.path.join(d, "objects.txt"))
            p = subprocess.run([a.stages, "-n", str(stage_n.get(wl, 10)), "--no-floor"] + objs,
                               capture_output=True, text=True)
            stages_txt = p.stdout if p.returncode == 0 else "stages failed: " + first_line(p.stderr)
        image_stages = None
        if a.stages and "elfjit image" in passing and wl in stage_n:
            p = subprocess.run([a.stages, "-n", str(stage_n.get(wl, 10)), "--no-floor",
                                os.path.join(d, "prog.eji")], capture_output=True, text=True)
            image_stages = p.stdout if p.returncode == 0 else "stages failed: " + first_line(p.stderr)
        sizes = {}
        for k, f in (("objects", None), ("image", "prog.eji"), ("image (z)", "prog.z.eji"),
                     ("shared object", "prog.so"), ("executable", "exe")):
            if f is None:
                sizes[k] = sum(os.path.getsize(o) for o in read_lines(os.path.join(d, "objects.txt")))
            elif os.path.exists(os.path.join(d, f)):
                sizes[k] = os.path.getsize(os.path.join(d, f))
        results["workloads"][wl] = {
            "image_stages": image_stages, "sizes": sizes,
            "info": info, "expected": expected.strip(), "failures": failures, "times": times,
            "rss_mib": rss, "hyperfine_note": note, "stages": stages_txt,
            "commands": {k: " ".join(shlex.quote(x) for x in v) for k, v in cmds.items()},
        }

    floor_txt = None
    if a.stages:
        small = os.path.join(a.work, "small")
        objs = read_lines(os.path.join(small, "objects.txt"))
        argv = [a.stages, "-n", "5" if a.quick else "200"] + objs if objs else [a.stages, "--floor-only"]
        p = subprocess.run(argv, capture_output=True, text=True)
        floor_txt = p.stdout if p.returncode == 0 else "stages failed: " + first_line(p.stderr)
    results["floor"] = floor_txt

    if a.bss:
        bss = {}
        for which in ("big", "small"):
            o = os.path.join(a.bss, "bss-%s.o" % which)
            why = run_check([a.elfjit, "run", o], "bss ok\n", 60)
            bss[which] = {"error": why,
                          "elfjit_rss_mib": None if why else peak_rss_mib([a.elfjit, "run", o], max(rss_n, 3)),
                          "exe_rss_mib": peak_rss_mib([os.path.join(a.bss, "bss-%s" % which)], max(rss_n, 3))}
        results["bss"] = bss

    results["elapsed_s"] = time.time() - a.started
    with open(os.path.join(rawdir, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    md = report(results)
    with open(os.path.join(a.results, "latest.md"), "w") as fh:
        fh.write(md)
    print(md)


def report(R):
    W = R["workloads"]
    L = []
    L.append("# elfjit against the peers")
    L.append("")
    L.append("Machine: %s. %s run. Median wall time of `hyperfine -N` (all peers of a workload in one "
             "run); peak RSS is the median of `/usr/bin/time -f %%M`." % (
                 R["machine"], "A --quick" if R["quick"] else "A full"))
    L.append("")
    L.append("Versions: " + "; ".join("%s: %s" % kv for kv in R["versions"].items()))
    L.append("")
    L.append("## Wall time (median), with elfjit ÷ peer")
    L.append("")
    L.append("| workload | " + " | ".join(TOOLS) + " |")
    L.append("|---|" + "---:|" * len(TOOLS))
    for wl, w in W.items():
        cells = []
        ej = w["times"].get("elfjit run", {}).get("median_ms")
        for t in TOOLS:
            if t in w["failures"]:
                cells.append("FAILS")
            elif t in w["times"]:
                m = w["times"][t]["median_ms"]
                if t == "elfjit run" or not ej:
                    cells.append(fmt_ms(m))
                else:
                    cells.append("%s (%.2f)" % (fmt_ms(m), ej / m))
            else:
                cells.append("–")
        L.append("| %s | %s |" % (label(wl, w), " | ".join(cells)))
    L.append("")
    L.append("## Peak RSS (MiB)")
    L.append("")
    L.append("| workload | " + " | ".join(TOOLS) + " |")
    L.append("|---|" + "---:|" * len(TOOLS))
    for wl, w in W.items():
        cells = []
        for t in TOOLS:
            v = w["rss_mib"].get(t)
            cells.append("FAILS" if t in w["failures"] else ("%.1f" % v if v is not None else "–"))
        L.append("| %s | %s |" % (label(wl, w), " | ".join(cells)))
    L.append("")
    L.append("`gcc link + run` reports the largest process of the pipeline (usually `ld`).")
    L.append("")
    L.append("## Targets (issue 3), ratios from the same run")
    L.append("")
    L.append("| workload | target | elfjit | peer | elfjit ÷ peer | result |")
    L.append("|---|---|---:|---:|---:|---|")
    for wl, peer, lim in TARGETS:
        if wl not in W:
            continue
        w = W[wl]
        tgt = "≤ %.1f × %s" % (lim, peer)
        ej = w["times"].get("elfjit run", {}).get("median_ms")
        pm = w["times"].get(peer, {}).get("median_ms")
        if "elfjit run" in w["failures"]:
            L.append("| %s | %s | FAILS | | | FAIL (elfjit fails) |" % (wl, tgt))
        elif pm is None:
            L.append("| %s | %s | %s | FAILS | | n/a (%s fails) |" % (wl, tgt, fmt_ms(ej), peer))
        else:
            r = ej / pm
            L.append("| %s | %s | %s | %s | %.3f | %s |" % (wl, tgt, fmt_ms(ej), fmt_ms(pm), r,
                                                            "PASS" if r <= lim else "FAIL"))
    if "large" in W:
        w = W["large"]
        e, t = w["rss_mib"].get("elfjit run"), w["rss_mib"].get("tcc -run")
        if e is None:
            L.append("| large | peak RSS ≤ tcc -run | – | – | | FAIL (elfjit fails) |")
        elif t is None:
            L.append("| large | peak RSS ≤ tcc -run | %.1f MiB | FAILS | | n/a (tcc fails) |" % e)
        else:
            L.append("| large | peak RSS ≤ tcc -run | %.1f MiB | %.1f MiB | %.3f | %s |" % (
                e, t, e / t, "PASS" if e <= t else "FAIL"))
    if R.get("bss"):
        b = R["bss"]
        if b["big"]["error"] or b["small"]["error"]:
            L.append("| bss | 256 MiB .bss costs only touched pages | %s | | | FAIL |" % (
                b["big"]["error"] or b["small"]["error"]))
        else:
            d = b["big"]["elfjit_rss_mib"] - b["small"]["elfjit_rss_mib"]
            L.append("| bss | 256 MiB .bss (16 pages touched) costs ≤ 2 MiB more than 4 KiB .bss | "
                     "%+.2f MiB | | | %s |" % (d, "PASS" if d <= 2.0 else "FAIL"))
    L.append("")
    L.extend(image_report(W))
    fails = [(wl, t, why) for wl, w in W.items() for t, why in w["failures"].items()]
    L.append("## Failing peers")
    L.append("")
    if fails:
        L.append("Each was run once before timing and checked for exit status 0 and the expected "
                 "stdout; a failing peer is not timed.")
        L.append("")
        for wl, t, why in fails:
            L.append("- **%s** on %s: %s" % (t, wl, why.replace("|", "\\|")))
    else:
        L.append("None: every peer printed the expected line and exited 0 on every workload.")
    notes = [(wl, w["hyperfine_note"]) for wl, w in W.items() if w.get("hyperfine_note")]
    for wl, n in notes:
        L.append("- %s: %s" % (wl, n))
    L.append("")
    L.append("## Workloads")
    L.append("")
    L.append("| workload | objects | object bytes | loaded bytes | relocations | expected stdout |")
    L.append("|---|---:|---:|---:|---:|---|")
    for wl, w in W.items():
        i = w["info"]
        L.append("| %s | %s | %s | %s | %s | `%s` |" % (
            wl, i.get("objects", "?"), mb(i.get("bytes")), mb(i.get("alloc_bytes")),
            "{:,}".format(i["relocations"]) if "relocations" in i else "?", w["expected"]))
    L.append("")
    for wl, w in W.items():
        if w.get("stages"):
            L.append("## Stages: %s" % wl)
            L.append("")
            L.append(w["stages"].replace("## link:", "Link:").strip())
            L.append("")
    if R.get("floor"):
        L.append("## Floor (and the small workload's link against it)")
        L.append("")
        L.append(R["floor"].replace("## ", "### ").strip())
        L.append("")
    L.append("## Commands")
    L.append("")
    for wl, w in W.items():
        L.append("%s:" % wl)
        L.append("")
        for t in TOOLS:
            c = w["commands"][t]
            if len(c) > 400:
                c = c[:400] + " …"
            L.append("    %-14s %s" % (t + ":", c))
        L.append("")
    L.append("Total time of this benchmark run: %.0f s." % R["elapsed_s"])
    L.append("")
    return "\n".join(L)


def image_report(W):
    """Images (issue 13): load against relinking, dlopen and exe-run, the
    sizes on disk, the targets, and the pages an image load leaves clean."""
    L = ["## Images (issue 13), ratios from the same run", ""]
    L.append("| workload | target | measured | peer | ratio | result |")
    L.append("|---|---|---:|---:|---:|---|")
    for wl, what, peer, lim in IMAGE_TARGETS:
        if wl not in W:
            continue
        t = W[wl]["times"]
        m, pm = t.get(what, {}).get("median_ms"), t.get(peer, {}).get("median_ms")
        tgt = "%s ≤ %.2f × %s" % (what, lim, peer)
        if m is None or pm is None:
            L.append("| %s | %s | %s | %s | | n/a (a run fails) |" % (wl, tgt, fmt_ms(m), fmt_ms(pm)))
        else:
            L.append("| %s | %s | %s | %s | %.3f | %s |" % (wl, tgt, fmt_ms(m), fmt_ms(pm), m / pm,
                                                            "PASS" if m / pm <= lim else "FAIL"))
    L.append("")
    L.append("Sizes on disk (bytes), and the deflated image ÷ the mapped one (target ≤ 0.5):")
    L.append("")
    L.append("| workload | objects | image | image (z) | (z) ÷ image | shared object | executable |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for wl, w in W.items():
        z = w.get("sizes", {})
        ratio = "%.3f" % (z["image (z)"] / z["image"]) if z.get("image") and z.get("image (z)") else "–"
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            wl, *["{:,}".format(z[k]) if k in z else "–" for k in ("objects", "image", "image (z)")],
            ratio, *["{:,}".format(z[k]) if k in z else "–" for k in ("shared object", "executable")]))
    L.append("")
    for wl, w in W.items():
        if w.get("image_stages"):
            L.append("### Loading the image: %s" % wl)
            L.append("")
            L.append(w["image_stages"].replace("## link:", "Load:").strip())
            L.append("")
    return L


def label(wl, w):
    return DESCRIPTION.get(wl, wl)


def mb(v):
    return "%.2f MB" % (v / 1e6) if isinstance(v, (int, float)) else "?"


if __name__ == "__main__":
    main()
