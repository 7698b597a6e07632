"""The randomized GUI tester's campaigns: seeded sequences of user actions (`generate`), run on the real
plugin in one QGIS application (`gui_monkey.Monkey`), a failing sequence shrunk by delta debugging to its
shortest replayable reproduction, and the counts of a campaign.

`make monkey N=1000 SEED=7` (this file as a script) runs the sequences in a child process, so that a
crash (a segfault) is reported with its sequence's seed and the action it died in, and the campaign goes
on in a new child; `--replay 'JSON'` replays one reproduction as printed. `make test` runs a short
campaign in process (tests/test_gui_monkey.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TESTS_DIR = Path(__file__).resolve().parent
for folder in (TESTS_DIR, TESTS_DIR.parent):  # run as a script: the plugin and the tests' helpers
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

CLIP_FRAMES = 5
CLIP_SIZE_PX = (192, 108)
SHRINK_REPLAYS = 24  # replays a failure's first occurrence may take to shrink
SILENT_CHILD_S = 600.0  # a child that reports nothing for this long (an action, a result) is stuck
LABELS = ("car", "van", "", "lorry 2", "ünïcødé", "a;b,c", "x" * 40)
CLIP_CHOICES = (0, 0, 0, 1, 1, 2, 3)  # A (KLV), B (KLV, same file name), no telemetry, not a video


def prepare_clips(folder: Path) -> list[str]:
    """The campaign's clips, made once and reused: two tiny simulated flights with KLV (both `video.ts`),
    the first's video alone (no telemetry) and a file that is not a video."""
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    paths = []
    for name, seed in (("a", 1), ("b", 2)):
        out = folder / f"{name}{CLIP_FRAMES}"
        if not (out / "video.ts").is_file():
            width, height = CLIP_SIZE_PX
            config = SimulationConfig(
                out_dir=out, seed=seed, frames=CLIP_FRAMES, width_px=width, height_px=height, vehicle_count=2
            )
            simulate(config)
        paths.append(str(out / "video.ts"))
    plain = folder / f"plain{CLIP_FRAMES}" / "plain.mp4"
    if not plain.is_file():
        _video_alone(Path(paths[0]), plain)
    broken = folder / "broken" / "broken.ts"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"\x47not a transport stream" * 50)
    return [*paths, str(plain), str(broken)]


def _video_alone(source: Path, target: Path) -> None:
    """`source`'s video stream copied into `target` (MP4) without its KLV stream."""
    import av

    target.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        video = reader.streams.video[0]
        stream = writer.add_stream_from_template(video)
        for packet in reader.demux(video):
            if packet.dts is not None:
                packet.stream = stream
                writer.mux(packet)


# --- sequences ---------------------------------------------------------------------------------------
def _box(rng: random.Random, normal: bool = False) -> list:
    """A drag on the video: mostly around something, a third degenerate (zero-size, tiny, flat, off the
    frame, wholly outside it, dragged backwards)."""
    x0, y0 = rng.uniform(0.02, 0.7), rng.uniform(0.02, 0.7)
    x1, y1 = x0 + rng.uniform(0.08, 0.4), y0 + rng.uniform(0.08, 0.4)
    shapes = ("normal", "zero", "tiny", "flat", "off", "outside", "backwards")
    shape = "normal" if normal else rng.choices(shapes, (12, 1, 1, 1, 2, 1, 1))[0]
    if shape == "zero":
        x1, y1 = x0, y0
    elif shape == "tiny":
        x1, y1 = x0 + 0.012, y0 + 0.02
    elif shape == "flat":
        y1 = y0 + 0.01
    elif shape == "off":
        x1, y1 = rng.uniform(1.05, 1.8), rng.uniform(0.5, 1.5)
    elif shape == "outside":
        x0, x1 = rng.uniform(-0.6, -0.1), rng.uniform(-0.3, -0.02)
    elif shape == "backwards":
        x0, y0, x1, y1 = x1, y1, x0, y0
    return ["box", *(round(value, 3) for value in (x0, y0, x1, y1))]


ROW = (0, 3)
GENERATORS = {  # kind: (weight, parameters)
    "open": (6, lambda r: [r.choice(CLIP_CHOICES)]),
    "box": (14, None),
    "telemetry": (1, lambda r: [r.choice((0, 1, 2))]),
    "table": (1.5, lambda r: [r.randint(0, CLIP_FRAMES - 1)]),
    "label": (2, lambda r: [r.choice(LABELS)]),
    "end_frame": (3, lambda r: [r.randint(0, CLIP_FRAMES - 1)]),
    "remove_box": (1.5, lambda r: [r.randint(*ROW)]),
    "clear_boxes": (1, lambda r: []),
    "track": (10, lambda r: []),
    "stop": (5, lambda r: [r.choice((0, 30, 150, 400, 900))]),
    "wait": (5, lambda r: [r.choice((50, 200, 600))]),
    "wait_run": (7, lambda r: []),
    "key": (6, lambda r: [r.choice(("left", "right", "home", "end", "space"))]),
    "play": (2, lambda r: [r.choice((80, 250, 600))]),
    "step": (2, lambda r: [r.random() < 0.4]),
    "slider": (3, lambda r: [round(r.random(), 2)]),
    "select_track": (5, lambda r: [r.randint(*ROW)]),
    "reseat": (4, lambda r: [r.random() < 0.8]),  # Yes to a question, if one comes
    "add_target": (4, lambda r: [r.random() < 0.8]),
    "delete": (3, lambda r: [r.randint(*ROW), r.random() < 0.7]),
    "rename": (2, lambda r: [r.randint(*ROW), r.choice(LABELS)]),
    "visibility": (1.5, lambda r: [r.randint(*ROW)]),
    "recolour": (1, lambda r: [r.randint(*ROW), "#%06x" % r.randrange(1 << 24)]),
    "export": (3, lambda r: [r.choice(("export.gpkg", "export 2", "")), r.random() < 0.5]),
    "detach": (0.5, lambda r: []),
    "move_group": (
        3,
        lambda r: [r.choice(("video", "run")), r.choice(("top", "bottom", "into")), r.randint(*ROW)],
    ),
    "remove_group": (1.5, lambda r: [r.choice(("video", "run")), r.randint(*ROW)]),
    "remove_layer": (1, lambda r: [r.randint(0, 9)]),
    "new_project": (1.5, lambda r: []),
    "save_project": (1.5, lambda r: [r.random() < 0.7]),  # and reopen it
    "reload": (1.5, lambda r: []),
    "unload": (0.5, lambda r: []),
    "load": (1, lambda r: []),
    "toggle_dock": (1, lambda r: []),
}
KINDS = tuple(GENERATORS)


def generate(seed: int, length: int = 15) -> list:
    """The sequence of seed `seed`: most open a clip first, and most of those start a run on it at once
    (what follows then meets a run in progress); a box is often followed by Track, Track by waiting for
    the run's end, and that often by a correction (Re-seat, Add target) a few frames back."""
    rng = random.Random(seed)
    weights = [weight for weight, _ in GENERATORS.values()]
    actions = []
    if rng.random() < 0.9:
        actions.append(["open", rng.choice(CLIP_CHOICES[:-1])])
        if rng.random() < 0.75:
            actions += [_box(rng, normal=True), ["track"]]
    while len(actions) < length:
        previous = actions[-1][0] if actions else None
        if previous == "box" and rng.random() < 0.35:
            kind = "track"
        elif previous == "track" and rng.random() < 0.3:
            kind = "wait_run"
        elif previous == "wait_run" and rng.random() < 0.4:  # a correction: back a few frames, a box
            back = [["key", "left"]] * rng.randint(0, 3)
            correct = [rng.choice(("reseat", "add_target")), rng.random() < 0.8]
            actions += [*back, _box(rng, normal=True), ["select_track", rng.randint(*ROW)], correct]
            if rng.random() < 0.3:  # stopped while it corrects
                actions.append(["stop", rng.choice((0, 100, 300))])
            continue
        else:
            kind = rng.choices(KINDS, weights)[0]
        actions.append(_box(rng) if kind == "box" else [kind, *GENERATORS[kind][1](rng)])
    return actions[:length]


def sequence_seed(campaign_seed: int, index: int) -> int:
    return campaign_seed * 100_003 + index


def shrink(actions: list, fails, budget: int) -> list:
    """Delta debugging: the shortest list found (chunks dropped, halving down to single actions) for
    which `fails(list)` still holds, within `budget` calls."""
    granularity = 2
    while len(actions) > 1 and budget > 0:
        chunk = -(-len(actions) // granularity)
        for start in range(0, len(actions), chunk):
            candidate = actions[:start] + actions[start + chunk :]
            budget -= 1
            if fails(candidate):
                actions, granularity = candidate, max(granularity - 1, 2)
                break
            if budget <= 0:
                return actions
        else:
            if granularity >= len(actions):
                return actions
            granularity = min(len(actions), granularity * 2)
    return actions


# --- a campaign in this process --------------------------------------------------------------------
class Campaign:
    def __init__(self, workdir: Path, on_action=None, worker: int = 0):
        from gui_monkey import Monkey

        workdir.mkdir(parents=True, exist_ok=True)
        self.monkey = Monkey(prepare_clips(workdir / "clips"), workdir / f"out{worker}")
        self.monkey.on_action = on_action
        self.shrunk: set[str] = set()  # failure signatures already shrunk in this campaign

    def run_sequence(self, index: int, seed: int, actions: list) -> dict:
        """One sequence; its failures with their shortest reproduction (delta debugging on the first
        failure of each kind of bug, the actions up to the failing one for the later ones)."""
        started = time.monotonic()
        failures = self.monkey.run(actions)
        seconds = time.monotonic() - started
        result = {
            "index": index,
            "seed": seed,
            "actions": Counter(action[0] for action in actions),
            "runs": dict(self.monkey.run_statuses),
            "lost_frames": self.monkey.lost_frames,
            "events": list(self.monkey.events),
            "seconds": round(seconds, 2),
            "seconds_by_kind": {kind: round(value, 3) for kind, value in self.monkey.seconds.items()},
            "failures": [],
        }
        for failure in failures:
            last = failure.action_index if failure.action_index >= 0 else len(actions) - 1
            repro = actions[: last + 1]
            if failure.signature not in self.shrunk:
                self.shrunk.add(failure.signature)
                signature = failure.signature
                repro = shrink(repro, lambda candidate: self._fails(candidate, signature), SHRINK_REPLAYS)
            result["failures"].append(
                {"kind": failure.kind, "signature": failure.signature, "text": failure.text, "repro": repro}
            )
        return result

    def _fails(self, actions: list, signature: str) -> bool:
        return any(failure.signature == signature for failure in self.monkey.run(actions))

    def close(self) -> None:
        self.monkey.reset()
        self.monkey._unload()
        from qgis.core import QgsProject

        QgsProject.instance().clear()


def run_in_process(
    workdir: Path,
    seed: int,
    sequences: int,
    length: int,
    first: int = 0,
    report=None,
    on_action=None,
    stride: int = 1,
    worker: int = 0,
) -> list:
    """Sequences `first`, `first` + `stride`, ... of the campaign `seed` here; `report(result)` after each,
    `on_action(index)` before each action."""
    results = []
    campaign = Campaign(workdir, on_action, worker)
    try:
        for index in range(first, sequences, stride):
            actions = generate(sequence_seed(seed, index), length)
            if report is not None:
                report({"start": index})
            result = campaign.run_sequence(index, sequence_seed(seed, index), actions)
            results.append(result)
            if report is not None:
                report(result)
    finally:
        campaign.close()
    return results


# --- make monkey: the campaign in child processes, crashes caught ------------------------------------
def summarize(results: list, elapsed_s: float) -> tuple[str, bool]:
    """The campaign's counts and every failure's shortest reproduction; True when nothing failed."""
    actions, runs, kinds = Counter(), Counter(), Counter()
    for result in results:
        actions.update(result["actions"])
        runs.update(result["runs"])
        kinds.update(failure["kind"] for failure in result["failures"])
    times = [result["seconds"] for result in results]
    spent = Counter()
    for result in results:
        spent.update(result.get("seconds_by_kind", {}))
    lines = [
        f"sequences: {len(results)}, actions: {sum(actions.values())}, {elapsed_s:.0f} s in all "
        f"({elapsed_s / max(len(results), 1):.2f} s a sequence; each took "
        f"{sum(times) / max(len(times), 1):.2f} s in its process, shrinking apart)",
        "actions by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(actions.items())),
        f"runs: {sum(runs.values())} (" + ", ".join(f"{s} {n}" for s, n in sorted(runs.items())) + ")",
        f"exceptions: {kinds['exception'] + kinds['log']} (to Qt {kinds['exception']}, "
        f"to the QGIS log {kinds['log']}), crashes: {kinds['crash']}, hangs: {kinds['hang']}, "
        f"lost frames: {sum(result['lost_frames'] for result in results)}, "
        f"counts down: {kinds['counts_down']}, partial files: {kinds['partial']}, "
        f"unreadable files: {kinds['gpkg']}, bad exports: {kinds['export']}, "
        f"tester errors: {kinds['tester']}",
    ]
    lines.append(
        "seconds by kind: " + ", ".join(f"{kind} {value:.0f}" for kind, value in spent.most_common())
    )
    events = Counter(event for result in results for event in result["events"])
    lines += [f"noted: {event} x{count}" for event, count in events.items()]
    for result in results:
        for failure in result["failures"]:
            replay = json.dumps({"seed": result["seed"], "actions": failure["repro"]}, ensure_ascii=False)
            lines += [
                f"FAILED sequence {result['index']} (seed {result['seed']}): {failure['signature']}",
                f"  shortest reproduction ({len(failure['repro'])} actions): {replay}",
                f"  replay: python tests/gui_monkey_campaign.py --replay '{replay}'",
            ]
    return "\n".join(lines), not kinds


def _read_results(path: Path) -> tuple[list, int | None, dict]:
    """(finished results, the sequence started last without a result, the last action marker)."""
    results, started, action = [], None, {}
    if path.is_file():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if "start" in record:
                started, action = record["start"], {}
            elif "action" in record:
                action = record
            else:
                results.append(record)
                started = None
    return results, started, action


def _crash(seed: int, length: int, index: int, code: int, action: dict, silent: bool = False) -> dict:
    """The result of sequence `index`, whose child died with `code` in the action `action` names (or was
    killed after `SILENT_CHILD_S` without a word: a hang)."""
    actions = generate(sequence_seed(seed, index), length)
    died = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    if silent:
        died = f"no progress for {SILENT_CHILD_S:.0f} s, killed"
    in_action = action.get("action", len(actions) - 1)
    print(f"sequence {index} crashed ({died}) in action {in_action}: {actions[in_action]}", flush=True)
    failure = {
        "kind": "hang" if silent else "crash",
        "signature": f"{'hang' if silent else 'crash'}: {died} in {actions[in_action][0]}",
        "text": died,
        "repro": actions[: in_action + 1],
    }
    return {
        "index": index,
        "seed": sequence_seed(seed, index),
        "actions": Counter(a[0] for a in actions[: in_action + 1]),
        "runs": {},
        "lost_frames": 0,
        "events": [],
        "seconds": 0.0,
        "failures": [failure],
    }


def run_with_children(workdir: Path, seed: int, sequences: int, length: int, jobs: int = 1) -> list:
    """The campaign in `jobs` child processes at once (child w runs sequences w, w + jobs, ...): a child
    that dies (a crash) is reported with its sequence, and a new one goes on from its next sequence."""
    prepare_clips(workdir / "clips")  # once, before the children share them
    results_paths = [workdir / f"results{worker}.jsonl" for worker in range(jobs)]
    for path in results_paths:
        path.unlink(missing_ok=True)

    def start(worker: int, first: int) -> subprocess.Popen:
        command = [sys.executable, __file__, "--child", "--first", str(first), "--sequences", str(sequences)]
        command += ["--seed", str(seed), "--length", str(length), "--workdir", str(workdir)]
        return subprocess.Popen(command + ["--jobs", str(jobs), "--worker", str(worker)])

    children = {worker: start(worker, worker) for worker in range(min(jobs, sequences))}
    crashes, killed = [], set()
    while children:
        time.sleep(0.2)
        for worker, child in list(children.items()):
            code = child.poll()
            if code is None:
                path = results_paths[worker]
                if path.is_file() and time.time() - path.stat().st_mtime > SILENT_CHILD_S:
                    killed.add(worker)  # stuck (a deadlock in the main thread): the next poll reports it
                    child.kill()
                continue
            del children[worker]
            _, started, action = _read_results(results_paths[worker])
            if started is not None:  # died in a sequence
                crashes.append(_crash(seed, length, started, code, action, worker in killed))
                killed.discard(worker)
                if started + jobs < sequences:
                    children[worker] = start(worker, started + jobs)
    results = [result for path in results_paths for result in _read_results(path)[0]]
    return sorted(results + crashes, key=lambda result: result["index"])


def _child(args) -> None:
    import torch
    from qgis.testing import start_app

    torch.set_num_threads(1)  # two cores shared: one thread tracks the tiny clips faster
    progress = os.fdopen(os.dup(1), "w")  # the campaign's lines; QGIS's own output goes to the log
    log = os.open(Path(args.workdir) / f"child{args.worker}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    start_app()
    results = open(Path(args.workdir) / f"results{args.worker}.jsonl", "a")

    def report(record):
        results.write(json.dumps(record, ensure_ascii=False) + "\n")
        results.flush()
        if "seed" in record:
            state = "ok" if not record["failures"] else "FAILED " + record["failures"][0]["signature"]
            line = f"sequence {record['index']}: {record['seconds']:.1f} s, runs {record['runs']}: {state}"
            print(line, file=progress, flush=True)

    def on_action(index):  # the action a crash hits
        report({"action": index})

    run_in_process(
        Path(args.workdir), args.seed, args.sequences, args.length, args.first, report, on_action,
        stride=args.jobs, worker=args.worker,
    )
    results.close()
    os._exit(0)  # QGIS's exit handlers are not what this campaign tests


def _replay(args) -> int:
    from qgis.testing import start_app

    start_app()
    replay = json.loads(args.replay)
    campaign = Campaign(Path(args.workdir))
    failures = campaign.monkey.run(replay["actions"])
    for failure in failures:
        print(f"after action {failure.action_index}: {failure.kind}\n{failure.text}")
    print(f"{len(failures)} failure(s); runs {campaign.monkey.run_statuses}")
    campaign.close()
    sys.stdout.flush()
    os._exit(1 if failures else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--length", type=int, default=15, help="actions a sequence")
    parser.add_argument("--workdir", default=None, help="clips and outputs (default: a folder in /tmp)")
    parser.add_argument("--replay", help='one reproduction as printed: {"seed": ..., "actions": [...]}')
    parser.add_argument("--jobs", type=int, default=1, help="child processes at once")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir = args.workdir or f"/tmp/siammask-monkey-{args.seed}"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.replay:
        return _replay(args)
    if args.child:
        _child(args)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    header = f"monkey: {args.sequences} sequences of {args.length} actions, seed {args.seed}, in {workdir}"
    print(header + f", {args.jobs} at once", flush=True)
    results = run_with_children(workdir, args.seed, args.sequences, args.length, args.jobs)
    text, clean = summarize(results, time.monotonic() - started)
    print(text, flush=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
