"""The command line: run, check and list scenarios. Parsing, progress and exit codes only.

Exit status: 0 success, 2 a user's mistake (bad file, field or option; one line on stderr),
1 a failure of the machine (disk full, permission, a worker killed), 130 interrupted (Ctrl-C),
143 stopped by SIGTERM (129 by SIGHUP). SIGTERM and SIGHUP are handled like Ctrl-C (same
clean-up, same message); the status is 128 + the signal's number, as a shell reports a process
that a signal ended, so that a batch system or script can tell a kill from a Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from truce_sim.core.errors import MachineError, UserError
from truce_sim.core.scenario import builtin_scenarios, load_scenario, one_line
from truce_sim.outputs.files import check_out_dir

COMMANDS = (
    "run",
    "check",
    "list",
    "sweep",
    "discover",
    "compare",
    "view",
    "explore",
    "validate",
    "calibrate",
    "nowcast",
)


# Below this many world-days one process is faster than a pool of all cores: spawning a worker
# imports numpy, pandas and Mesa (about 0.8 s), which a small run never earns back
# (bench/startup.py measures the crossover; BENCHMARKS.md records it).
POOL_MIN_WORLD_DAYS = 4_000_000


def default_workers(world_days: int) -> int:
    return 1 if world_days < POOL_MIN_WORLD_DAYS else (os.cpu_count() or 1)


class UsageError(UserError):
    """A mistake on the command line, told in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _field_int(name: str):
    """An option bounded as the scenario field it overrides is (the schema owns the range)."""
    from truce_sim.core.schema import TOP_FIELDS

    field = TOP_FIELDS[name]
    return _bounded_int(int(field.lo), int(field.hi))


def _bounded_int(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo}, {hi}], got {value}")
        return value

    return parse


def _scheduler_address(text: str) -> str:
    """A Dask scheduler's address, checked here so that a typo fails before anything is written."""
    from urllib.parse import urlsplit

    shown = text if len(text) <= 80 else text[:77] + "..."
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a port out of range or not a number
        port = parts = None
    if (
        parts is None
        or any(ch.isspace() or not ch.isprintable() for ch in text)  # urlsplit drops them silently
        or parts.scheme not in ("tcp", "tls")
        or not parts.hostname
        or port is None
        or port == 0
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise argparse.ArgumentTypeError(f"expected tcp://HOST:PORT (a running Dask scheduler), got {shown!r}")
    return text


SCALE_HELP = "multiply a field and every value events set or add to it, e.g. backers.turkey.support=2 (repeatable)"
EVENT_HELP = (
    "add an event: 'DAY: PATH=VALUE' sets a field on that day, 'DAY: PATH*=FACTOR' multiplies it, "
    "e.g. '30: backers.russia.pressure=0' (repeatable; checked as the file's events are)"
)


def _add_worlds_options(parser: argparse.ArgumentParser) -> None:
    """--replicates, --seed and --steps, as run and nowcast take them."""
    parser.add_argument(
        "--replicates", "-n", type=_field_int("replicates"), help="worlds to simulate (default: the scenario's)"
    )
    parser.add_argument("--seed", type=_field_int("seed"), help="seed of the random streams (default: the scenario's)")
    parser.add_argument(
        "--steps", type=_field_int("horizon_days"), help="days to simulate (default: the scenario's horizon_days)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="run.py", description="truce-sim: truce survival under foreign backers' leverage.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run an ensemble and write its results")
    run.add_argument("scenario", help="scenario file (YAML)")
    _add_worlds_options(run)
    run.add_argument("--out", help="out dir (default: results/<scenario name>, results/<scenario name>--<label>)")
    run.add_argument(
        "--label",
        metavar="NAME",
        help="name the what-if (letters, digits, _ - .): its default out dir and its summary carry it",
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field by dotted path, e.g. backers.russia.pressure=0 (repeatable)",
    )
    run.add_argument("--scale", dest="scales", action="append", default=[], metavar="PATH=FACTOR", help=SCALE_HELP)
    run.add_argument(
        "--event", dest="events", action="append", default=[], metavar="'DAY: PATH=VALUE'", help=EVENT_HELP
    )
    run.add_argument(
        "--workers",
        "-j",
        type=_bounded_int(1, 1024),
        help="worker processes (default: one for small runs, else all cores); never changes a result",
    )
    run.add_argument(
        "--batch-size",
        type=_bounded_int(1, 1_000_000),
        help="worlds stepped together (default: an even share per worker, at most 10,000)",
    )
    run.add_argument(
        "--keep-paths", action="store_true", help="also write every world's daily path (paths/*.parquet; large)"
    )
    run.add_argument(
        "--max-world-days",
        type=_bounded_int(1, 10**15),
        default=5_000_000_000,
        help="refuse runs larger than this many worlds x days (default 5e9)",
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary table")
    run.add_argument(
        "--posterior",
        metavar="FILE",
        help="posterior.csv of behavioural constants (a column each, and weight): each world takes its "
        "constants from one of K rows drawn by weight, world i from draw i %% K",
    )
    run.add_argument(
        "--posterior-draws",
        type=_bounded_int(1, 100_000),
        metavar="K",
        help="rows drawn from --posterior per run (default 50); the survival band spans the K draws' curves",
    )
    nowcast = sub.add_parser(
        "nowcast", help="condition the worlds on a running truce's observed record and forecast from it"
    )
    nowcast.add_argument("scenario", help="scenario file (YAML) or a built-in's name")
    nowcast.add_argument(
        "--observed",
        required=True,
        metavar="OBS.csv",
        help="the observed record: a row per day, date or day, and any of violations_<faction>, violations, "
        "truce_holds, control_<faction>",
    )
    nowcast.add_argument(
        "--as-of", metavar="DAY|DATE", help="condition on the record up to this day (default: its last observed day)"
    )
    _add_worlds_options(nowcast)
    nowcast.add_argument("--out", help="out dir (default: results/<scenario name>--nowcast-day<AS-OF>)")
    nowcast.add_argument("--label", metavar="NAME", help="name the what-if")
    nowcast.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    nowcast.add_argument("--scale", dest="scales", action="append", default=[], metavar="PATH=FACTOR", help=SCALE_HELP)
    nowcast.add_argument(
        "--event", dest="events", action="append", default=[], metavar="'DAY: PATH=VALUE'", help=EVENT_HELP
    )
    nowcast.add_argument(
        "--workers", "-j", type=_bounded_int(1, 1024), help="worker processes for the unconditioned run (default 1)"
    )
    nowcast.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    check = sub.add_parser("check", help="validate a scenario and print it resolved")
    check.add_argument("scenario")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    check.add_argument("--scale", dest="scales", action="append", default=[], metavar="PATH=FACTOR", help=SCALE_HELP)
    check.add_argument(
        "--event", dest="events", action="append", default=[], metavar="'DAY: PATH=VALUE'", help=EVENT_HELP
    )
    sub.add_parser("list", help="list the built-in scenarios")
    sweep = sub.add_parser("sweep", help="run a parameter sweep (a sweep file, or a scenario with --vary)")
    sweep.add_argument("file", help="sweep file (YAML with base:), or a scenario file with --vary")
    sweep.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="PATH=LO:HI:NUM|A,B,C",
        help="with a scenario file: a field to vary, e.g. backers.turkey.support=0:0.05:11",
    )
    sweep.add_argument("--design", choices=("grid", "lhs", "sobol", "morris"), help="with --vary (default grid)")
    sweep.add_argument(
        "--n", type=_bounded_int(1, 10_000_000), help="points (lhs), base samples (sobol), trajectories (morris)"
    )
    sweep.add_argument("--metric", dest="metrics", action="append", help="a metric to record (repeatable)")
    sweep.add_argument("--replicates", "-n", type=_bounded_int(1, 1_000_000), help="worlds per point")
    sweep.add_argument("--seed", type=_field_int("seed"))
    sweep.add_argument("--steps", type=_field_int("horizon_days"))
    sweep.add_argument("--out", help="out dir (default: results/sweeps/<sweep name>)")
    sweep.add_argument(
        "--workers",
        "-j",
        type=_bounded_int(1, 1024),
        help="worker processes (default: one for small sweeps, else all cores)",
    )
    sweep.add_argument(
        "--batch-size",
        type=_bounded_int(1, 1_000_000),
        help="worlds per task (default: a point's worlds, at most 10,000)",
    )
    sweep.add_argument(
        "--scheduler",
        type=_scheduler_address,
        metavar="tcp://HOST:PORT",
        help="send the tasks to a running dask.distributed scheduler",
    )
    sweep.add_argument(
        "--dask-local", type=_bounded_int(1, 1024), metavar="N", help="start a local Dask cluster of N workers"
    )
    sweep.add_argument("--resume", action="store_true", help="compute only the points missing from the out dir")
    sweep.add_argument(
        "--fresh", action="store_true", help="throw away the points of an unfinished run and start again"
    )
    sweep.add_argument("--max-points", type=_bounded_int(1, 100_000_000), default=10_000)
    sweep.add_argument(
        "--max-world-days",
        type=_bounded_int(1, 10**15),
        default=5_000_000_000,
        help="refuse sweeps larger than this many worlds x days over all points (default 5e9)",
    )
    sweep.add_argument("--quiet", "-q", action="store_true")
    disc = sub.add_parser("discover", help="find where a condition on a metric holds in a finished sweep (PRIM)")
    disc.add_argument("sweep_dir")
    disc.add_argument("--metric", required=True, help="e.g. survival_at_365")
    side = disc.add_mutually_exclusive_group(required=True)
    side.add_argument("--above", type=float, help="the condition: metric above this value")
    side.add_argument("--below", type=float, help="the condition: metric below this value")
    disc.add_argument("--min-density", type=float, default=0.8, help="density the chosen box must reach (default 0.8)")
    disc.add_argument("--out", help="out dir (default: SWEEP_DIR/discover_<metric>)")
    comp = sub.add_parser(
        "compare",
        help="what differs between runs and how survival differs from the first run's "
        "(paired when the seeds are equal), with survival curves",
    )
    comp.add_argument("run_dirs", nargs="+", help="out dirs of earlier runs; each is compared with the first")
    comp.add_argument("--out", help="out dir (default: results/compare_<first>_vs_<second>...)")
    view = sub.add_parser("view", help="serve an out dir's report.html on 127.0.0.1")
    view.add_argument("dir")
    view.add_argument("--port", type=_bounded_int(0, 65535), default=8000, help="port (0: any free port)")
    view.add_argument("--no-browser", action="store_true", help="do not try to open a browser")
    explore = sub.add_parser("explore", help="the interactive what-if explorer (Solara)")
    explore.add_argument("scenario")
    explore.add_argument("--port", type=_bounded_int(1, 65535), default=8765)
    val = sub.add_parser("validate", help="measure the stylized facts; write a validation report")
    val.add_argument("--out", default="results/validation", help="out dir (default results/validation)")
    val.add_argument("--worlds", type=_bounded_int(100, 1_000_000), default=4000, help="worlds per ensemble")
    val.add_argument(
        "--no-sensitivity",
        action="store_true",
        help="skip the +-20%% sensitivity to each constant and the +-50%% scan of what the brackets constrain",
    )
    val.add_argument("--no-effects", action="store_true", help="skip the levers' hazard ratios against published ones")
    cal = sub.add_parser("calibrate", help="Bayesian fit (ABC-SMC) of behavioural constants to the historical cases")
    # the defaults finish in under 30 minutes on 2 cores (BENCHMARKS.md, "Calibration")
    cal.add_argument("--population", type=_bounded_int(2, 100_000), default=30, help="particles (default 30)")
    cal.add_argument("--generations", type=_bounded_int(1, 1000), default=4, help="ABC-SMC generations (default 4)")
    cal.add_argument("--scale", type=float, default=0.5, help="scale the worlds per case (default 0.5)")
    cal.add_argument(
        "--budget",
        type=_bounded_int(1, 10_000_000),
        help="stop after the generation in which the model evaluations reach this many (default: no cap)",
    )
    cal.add_argument(
        "--scheduler",
        type=_scheduler_address,
        metavar="tcp://HOST:PORT",
        help="evaluate on a running dask.distributed scheduler (default: one core, reproducible)",
    )
    cal.add_argument(
        "--draws", type=_bounded_int(2, 10_000), default=20, help="posterior-predictive draws per case (default 20)"
    )
    cal.add_argument(
        "--cases",
        metavar="NAME,...",
        help="calibrate against these historical cases and archetypes only (default: all; for quick trials)",
    )
    cal.add_argument("--out", default="results/calibration", help="out dir (default results/calibration)")
    cal.add_argument(
        "--write-defaults",
        action="store_true",
        help="also write the posterior medians into truce_sim/core/defaults.yaml",
    )
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises KeyboardInterrupt, so that every clean-up
    written for Ctrl-C (staging dirs removed, workers stopped, points kept) serves them too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    raise Terminated(signum)


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_INTERRUPTED = {128 + signal.SIGINT, *(128 + s for s in _STOP_SIGNALS)}


def _stop_on_signals() -> None:
    for signum in _STOP_SIGNALS:
        if signal.getsignal(signum) == signal.SIG_DFL:  # an ignored one (nohup) stays ignored
            signal.signal(signum, _raise_terminated)


def entry() -> None:
    """The process entry point of run.py and the truce-sim script: main(), then exit."""
    # Worker processes and multiprocessing's resource tracker inherit this: after Ctrl-C the
    # tracker tidies up what the stopped workers held without printing over the one-line message.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")
    _stop_on_signals()
    try:
        status = main()
    except KeyboardInterrupt as exc:  # a second signal while the first was being handled
        status = 128 + getattr(exc, "signum", signal.SIGINT)
    if status in _INTERRUPTED:
        # Interrupted and cleaned up: leave now, without the interpreter's shutdown, which would
        # join the threads of stopped pools. It would also stop the pools' workers, so stop them
        # here first (terminated and reaped), deaf to further signals while doing so.
        for signum in (signal.SIGINT, *_STOP_SIGNALS):
            signal.signal(signum, signal.SIG_IGN)
        executors = sys.modules.get("truce_sim.runs.executors")  # not imported: no pool to stop
        if executors is not None:
            executors.abandon_pools()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")  # `run.py FILE` means `run.py run FILE`
    try:
        args = build_parser().parse_args(argv)
        commands = {
            "run": cmd_run,
            "check": cmd_check,
            "list": cmd_list,
            "sweep": cmd_sweep,
            "discover": cmd_discover,
            "compare": cmd_compare,
            "view": cmd_view,
            "explore": cmd_explore,
            "validate": cmd_validate,
            "calibrate": cmd_calibrate,
            "nowcast": cmd_nowcast,
        }
        return commands[args.command](args)
    except UserError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_status
    except MachineError as exc:
        from truce_sim.runs.executors import WorkerDied

        message = one_line(exc)
        if argv and argv[0] == "sweep" and isinstance(exc, WorkerDied):
            message += "; the points finished so far are saved: add --resume to finish"
        print(f"error: {message}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP as Terminated (entry())
        if argv and argv[0] == "sweep":
            print("interrupted: the points finished so far are saved; rerun with --resume to finish", file=sys.stderr)
        else:
            print("interrupted: nothing was written", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            one_line(
                f"error: cannot write the results: {exc.strerror or exc}{where}; free space or choose another --out"
            ),
            file=sys.stderr,
        )
        return 1


def load_what_if(args):
    """The scenario with the command's --event, --set and --scale, named by its --label, and a
    warning on stderr for each override that an event undoes."""
    posterior = getattr(args, "posterior", None), getattr(args, "posterior_draws", None)
    scenario = load_scenario(
        args.scenario,
        args.overrides,
        args.scales,
        *posterior,
        events=getattr(args, "events", None),
        label=getattr(args, "label", None),
    )
    for caveat in scenario.caveats():
        print(f"warning: {one_line(caveat)}", file=sys.stderr)
    return scenario


def cmd_check(args) -> int:
    scenario = load_what_if(args)
    print(f"# {args.scenario}: valid")
    print(scenario.to_yaml(), end="")
    return 0


def cmd_list(args) -> int:
    for name, description, _path in builtin_scenarios():
        print(f"{name:34s} {description}")
    return 0


def default_run_dir(scenario, label: str | None = None) -> Path:
    """results/<name>/ for the scenario as written; results/<name>--<label>/ for a what-if, so a
    what-if never replaces its baseline's results."""
    label = label or scenario.what_if_label
    return Path("results") / (f"{scenario.name}--{label}" if label else scenario.name)


def cmd_run(args) -> int:
    from truce_sim.outputs.files import OutDir, utc_now
    from truce_sim.outputs.run_dir import write_run_files
    from truce_sim.runs.ensemble import MAX_BATCH, run_ensemble
    from truce_sim.runs.resources import check_run_fits

    scenario = load_what_if(args)
    out_dir = Path(args.out) if args.out else default_run_dir(scenario)
    replicates = args.replicates or scenario.replicates
    steps = args.steps or scenario.horizon_days
    args.workers = args.workers or default_workers(replicates * steps)
    batch_size = args.batch_size or min(MAX_BATCH, -(-replicates // args.workers))
    check_run_fits(
        scenario, replicates, steps, args.workers, batch_size, args.keep_paths, max_world_days=args.max_world_days
    )
    with OutDir(out_dir, "run") as out:  # refused here, before any work, if it is not ours to write
        started = utc_now()
        staging = out.stage()
        bar = None if args.quiet else _progress_bar(replicates * steps, scenario.name)
        try:
            result = run_ensemble(
                scenario,
                replicates=replicates,
                seed=args.seed,
                steps=steps,
                workers=args.workers,
                batch_size=args.batch_size,
                paths_dir=staging / "paths" if args.keep_paths else None,
                progress=bar.update if bar else None,
            )
        finally:
            if bar is not None:
                bar.close()
        write_run_files(result, staging, command=["run.py", *sys.argv[1:]], started=started, finished=utc_now())
        out.commit()
    if not args.quiet:
        print(summary_table(result.summary, out_dir))
    if result.summary.get("survival_band", {}).get("warning"):  # a warning shows even with -q
        print(f"warning: {result.summary['survival_band']['warning']}", file=sys.stderr)
    return 0


def _progress_bar(total: int, name: str, unit: str = " world-days", unit_scale: bool = True, leave: bool = False):
    from tqdm import tqdm

    # delay: runs shorter than about a second show no bar at all
    return tqdm(total=total, desc=name, unit=unit, unit_scale=unit_scale, delay=1.0, file=sys.stderr, leave=leave)


def summary_table(s: dict, out_dir: Path) -> str:
    from truce_sim.outputs.run_report import summary_lines

    rows = [("scenario", s["scenario"])]
    if s.get("label"):
        rows.append(("label", s["label"]))
    # fields as {path: value or xFACTOR}, then the events added (a summary from before them has none)
    changes = [f"{k}={v}" for k, v in (s.get("overrides") or {}).items()]
    changes += [c for c in s.get("what_if") or [] if c.startswith("event day ")]
    if changes:
        rows.append(("what-if", ", ".join(changes)))
    rows.append(("worlds", f"{s['replicates']} (seed {s['seed']}, {s['steps']} days)"))
    rows += [(label, text) for label, text, _, _ in summary_lines(s)]
    rows.append(("results", str(out_dir)))
    return aligned(rows)


def aligned(rows: list[tuple[str, str]]) -> str:
    """A console table of (label, text) rows, the texts in one column."""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def cmd_sweep(args) -> int:
    from truce_sim.runs.resources import check_sweep_fits
    from truce_sim.sweeps.runner import run_sweep
    from truce_sim.sweeps.spec import is_sweep_file, load_sweep, sweep_from_options

    if args.scheduler and args.dask_local:
        raise UsageError("sweep: give --scheduler or --dask-local, not both")
    if args.resume and args.fresh:
        raise UsageError("sweep: give --resume or --fresh, not both")
    if is_sweep_file(args.file):
        if args.vary or args.design or args.n:
            raise UsageError("sweep: --vary, --design and --n go with a scenario file; a sweep file sets its own")
        overrides = {"replicates": args.replicates, "seed": args.seed, "steps": args.steps, "metrics": args.metrics}
        sweep = load_sweep(args.file, args.max_points, overrides)
    else:
        if not args.vary:
            raise UsageError(f"sweep: {args.file} is a scenario; say what to vary with --vary PATH=LO:HI:NUM")
        sweep = sweep_from_options(
            args.file,
            args.vary,
            args.design or "grid",
            args.n,
            args.replicates,
            args.seed,
            args.steps,
            args.metrics,
            args.max_points,
        )
    out_dir = Path(args.out) if args.out else Path("results") / "sweeps" / sweep.name
    args.workers = args.workers or default_workers(len(sweep.points) * sweep.replicates * sweep.steps)
    check_sweep_fits(
        sweep,
        args.workers,
        args.batch_size,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
        max_world_days=args.max_world_days,
    )  # before the out dir is touched
    for note in sweep.notes:
        print(note, file=sys.stderr)
    bar = None
    if not args.quiet:
        bar = _progress_bar(len(sweep.points), sweep.name, unit=" points", unit_scale=False, leave=True)
    try:
        result = run_sweep(
            sweep,
            out_dir,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            resume=args.resume,
            fresh=args.fresh,
            batch_size=args.batch_size,
            progress=bar.update if bar else None,
            command=["run.py", *sys.argv[1:]],
            analyse=True,
        )
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        print(f"{len(result.points)} points ({result.computed} computed now) of {sweep.replicates} worlds -> {out_dir}")
        print(f"report: {out_dir / 'report.html'}")
    return 0


def cmd_discover(args) -> int:
    from truce_sim.sweeps.discover import discover, load_sweep_results, write_discovery

    sweep_dir = Path(args.sweep_dir)
    paths, points = load_sweep_results(sweep_dir)
    if not 0 <= args.min_density <= 1:
        raise UsageError(f"discover: --min-density must be in [0, 1], got {args.min_density:g}")
    above = args.above is not None
    threshold = args.above if above else args.below
    out_dir = (
        Path(args.out)
        if args.out
        else sweep_dir / f"discover_{args.metric}_{'above' if above else 'below'}_{threshold:g}"
    )
    check_out_dir(out_dir, "discover", [sweep_dir])
    found = discover(points, paths, args.metric, threshold, above, args.min_density)
    write_discovery(found, sweep_dir, out_dir)
    print(found.sentence)
    print(
        f"coverage {found.coverage:.2f}, density {found.density:.2f}, "
        f"{found.points_in_box} points in the box -> {out_dir}"
    )
    return 0


def cmd_compare(args) -> int:
    from truce_sim.outputs.compare import compare_runs, load_runs

    dirs = [Path(d) for d in args.run_dirs]
    out_dir = Path(args.out) if args.out else Path("results") / ("compare_" + "_vs_".join(d.name for d in dirs))[:120]
    check_out_dir(out_dir, "compare", dirs)
    runs = load_runs(dirs)  # a damaged run, or a run compared with itself, stops here: nothing written
    found = compare_runs(runs, out_dir)
    for line in found.warnings:
        print(f"warning: {one_line(line)}", file=sys.stderr)
    fields = found.fields
    if len(fields):
        print("fields that differ:")
        cells = [list(fields.columns), *fields.astype(str).to_numpy().tolist()]
        cells = [[c if len(c) <= 40 else c[:37] + "..." for c in row] for row in cells]
        widths = [max(len(row[k]) for row in cells) for k in range(len(cells[0]))]
        for row in cells:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    else:
        print("no field differs")
    for line in found.headline:
        print(line)
    for line in found.notes:
        print(line)
    print(f"compared {len(dirs)} runs -> {out_dir / 'report.html'}")
    return 0


def cmd_view(args) -> int:
    import functools
    import http.server
    import webbrowser

    directory = Path(args.dir)
    if not (directory / "report.html").is_file():
        raise UsageError(f"view: {directory} has no report.html (is it an out dir of run, sweep or compare?)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a: None
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError as exc:
        raise UsageError(f"view: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); try --port 0") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/report.html"
    print(f"serving {directory} at {url}  (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_explore(args) -> int:
    import click

    from truce_sim.core.scenario import resolve_scenario

    load_scenario(args.scenario)  # a broken file fails here, in one line, not inside the server
    app = Path(__file__).with_name("app.py")
    os.environ["TRUCE_SIM_SCENARIO"] = str(resolve_scenario(args.scenario).resolve())  # a file or a built-in's name
    os.environ["TRUCE_SIM_SCENARIO_ARG"] = args.scenario  # the explorer's "copy as command" repeats it
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # solara's badge would cover the figures
    # a closed tab's session (and a world it left playing) ends after 20 s, not solara's 24 h
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", "20s")
    print(f"explorer for {args.scenario} at http://127.0.0.1:{args.port}/  (Ctrl-C to stop)", flush=True)
    from solara.__main__ import cli as solara_cli

    solara_arguments = ["run", str(app), "--host", "127.0.0.1", "--port", str(args.port), "--no-open"]
    solara_arguments.append("--no-check-version")  # no network here, and no upgrade advice at every start
    # in this process, not a child: stopping this process stops the server
    with contextlib.suppress(KeyboardInterrupt, click.exceptions.Abort):
        solara_cli.main(solara_arguments, prog_name="solara", standalone_mode=False)
    print("explorer stopped", file=sys.stderr)
    return 0


def _as_of_day(text: str | None, scenario, steps: int) -> int | None:
    """--as-of as a day since the truce began: a whole number, or a date after the start_date,
    within the run's ``steps`` days."""
    if text is None:
        return None
    import datetime as dt

    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 5:
        day = int(text)
    else:
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"--as-of {one_line(text)!r}: expected a day (e.g. 20) or a date (e.g. 2020-02-01)"
            ) from None
        if scenario.start_date is None:
            raise UsageError(f"--as-of {text}: a date needs the scenario's start_date; give the day instead")
        day = (date - scenario.start_date).days
    if not 1 <= day <= steps:
        raise UsageError(f"--as-of {text}: day {day} is outside the run's days 1-{steps}")
    return day


def cmd_nowcast(args) -> int:
    from truce_sim.core.model import MIN_WORLDS_TO_CONTINUE
    from truce_sim.nowcast.files import write_nowcast_files
    from truce_sim.nowcast.forecast import nowcast
    from truce_sim.nowcast.observations import read_observations
    from truce_sim.nowcast.particle_filter import NoWorldMatches
    from truce_sim.outputs.files import OutDir

    scenario = load_what_if(args)
    steps = args.steps or scenario.horizon_days
    as_of = _as_of_day(args.as_of, scenario, steps)
    record = read_observations(args.observed, scenario, as_of, steps)  # every mistake in the file before any work
    as_of = as_of or record.last_day
    worlds = args.replicates or scenario.replicates
    if worlds < MIN_WORLDS_TO_CONTINUE:
        raise UsageError(f"--replicates {worlds}: a nowcast needs at least {MIN_WORLDS_TO_CONTINUE} worlds")
    out_dir = Path(args.out) if args.out else Path("results") / f"{scenario.name}--nowcast-day{as_of}"
    with OutDir(out_dir, "nowcast", [args.scenario, args.observed]) as out:
        staging = out.stage()
        bar = None if args.quiet else _progress_bar(2 * worlds * steps, f"{scenario.name} nowcast")
        try:
            result = nowcast(
                scenario,
                record,
                as_of,
                worlds,
                args.seed,
                steps,
                workers=args.workers or 1,
                progress=bar.update if bar else None,
            )
        except NoWorldMatches as e:
            raise UserError(f"{record.source}: {e}") from None
        finally:
            if bar is not None:
                bar.update(bar.total - bar.n)  # the unconditioned run counts its days its own way
                bar.close()
        write_nowcast_files(result, staging, command=["run.py", *sys.argv[1:]])
        out.commit()
    s = result.summary
    if s["warning"]:
        print(f"warning: {s['warning']}", file=sys.stderr)
    elif s["note"] and not args.quiet:
        print(f"note: {s['note']}", file=sys.stderr)
    if not args.quiet:
        rows = [
            ("scenario", s["scenario"]),
            ("as of", f"day {s['as_of_day']}" + (f" ({s['as_of_date']})" if s["as_of_date"] else "")),
            ("observed days", str(s["observed_days"])),
            ("effective sample", f"{s['effective_sample_size']:.0f} of {s['worlds']} worlds"),
        ]
        for day, cell in s["conditional_survival_at"].items():
            before = s["unconditional_survival_at"].get(day)
            rows.append(
                (
                    f"survival at {day} d",
                    f"{100 * cell['p']:.1f}% conditioned, {100 * before['p']:.1f}% unconditioned"
                    if before
                    else f"{100 * cell['p']:.1f}% conditioned",
                )
            )
        rows.append(("results", str(out_dir)))
        print(aligned(rows))
    return 0


def cmd_validate(args) -> int:
    from truce_sim.validity.facts import FACTS
    from truce_sim.validity.report import control_text, holds, rule_fails, verdict, write_validation

    check_out_dir(Path(args.out), "validate")  # before minutes of work, not after

    results = []
    for fact in FACTS:
        r = fact(args.worlds)
        results.append(r)
        print(
            f"{r.number}. {r.name:34s} as shipped {'pass' if r.passed else 'FAIL'}; "
            f"control {control_text(r)}; {verdict(r)}\n   rule: {r.rule or '-'}",
            flush=True,
        )
    sensitivity = constraints = effects = None
    if not args.no_sensitivity:
        from truce_sim.core.scenario import BEHAVIOUR_FIELDS
        from truce_sim.validity.sensitivity import constants_sensitivity, constraint_scan, fitted_constants
        from truce_sim.validity.targets import HISTORICAL

        with _progress_bar(len(HISTORICAL) * len(BEHAVIOUR_FIELDS), "sensitivity", " constants", False, True) as bar:
            sensitivity = constants_sensitivity(progress=bar.update)
        with _progress_bar(1 + 2 * len(fitted_constants()), "constraints", " evaluations", False, True) as bar:
            constraints = constraint_scan(progress=bar.update)
    if not args.no_effects:
        from truce_sim.validity.effects import LEVERS, measure_effects

        with _progress_bar(2 * len(LEVERS), "effects", " ensembles", False, True) as bar:
            effects = measure_effects(args.worlds, progress=bar.update)
        for _, row in effects.iterrows():
            print(
                f"effect of {row['lever']}: hazard ratio {row['model hazard ratio']:.2f} "
                f"[{row['lo']:.2f}, {row['hi']:.2f}], published {row['published ratio']}; "
                f"within a factor of 3: {row['within factor 3']}"
            )
    write_validation(results, Path(args.out), sensitivity, effects, constraints)
    failed = [r for r in results if rule_fails(r)]
    print(
        f"{sum(holds(r) for r in results)} of {len(results)} stylized facts hold; "
        f"{len(failed)} rules fail -> {Path(args.out) / 'report.html'}"
    )
    return 1 if failed else 0


def cmd_calibrate(args) -> int:
    from truce_sim.validity.calibrate import (
        DEFAULTS_PATH,
        calibrate,
        check_cases,
        defaults_text,
        print_progress,
        write_calibration,
    )

    if not 0.05 <= args.scale <= 100:
        raise UsageError(f"calibrate: --scale must be in [0.05, 100], got {args.scale:g}")
    cases = None if args.cases is None else tuple(c.strip() for c in args.cases.split(",") if c.strip())
    if cases is not None:
        if args.write_defaults:
            raise UsageError("calibrate: --write-defaults needs every case: a fit to some cases is not the defaults")
        check_cases(cases)
    check_out_dir(Path(args.out), "calibrate")  # before minutes of work, not after
    result = calibrate(
        population=args.population,
        generations=args.generations,
        scale=args.scale,
        scheduler=args.scheduler,
        max_evaluations=args.budget,
        progress=print_progress,
        cases=cases,
    )
    write_calibration(result, Path(args.out), draws=args.draws)
    print(
        f"{result['generations']} generations, {result['evaluations']} evaluations, "
        f"{result['minutes']:.1f} min; posterior medians: "
        + ", ".join(f"{k}={v:g}" for k, v in result["fitted"].items())
    )
    if args.write_defaults:
        from truce_sim.outputs.files import write_text

        write_text(DEFAULTS_PATH, defaults_text(result))
        print(f"wrote the posterior medians into {DEFAULTS_PATH}")
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0
