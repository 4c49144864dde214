#!/usr/bin/env python3
"""Crash recovery of `ketenzicht serve` (SPEC §8: "a restart ... loses no acknowledged event").

Driven by scripts/crash-recovery.sh. Each round: a client streams batches of events through the
socket's `ingest` method (two requests in flight) and records exactly which batches were
acknowledged (answered with a result); the daemon is killed with SIGKILL after a random, seeded
delay; the store is checked on disk as the crash left it; the daemon is restarted (sometimes
killed once more while it replays the store) and checked through the socket; then every
unacknowledged batch of the round, and a few acknowledged batches of earlier rounds, are sent
again. The state directory carries over from round to round and the stream goes on where it
stopped: every restart replays all that earlier crashes left behind, and what round 1
acknowledged must survive every later kill.

Violations (exit 1): an acknowledged event missing from the store (lost), an event stored twice
(duplicated), a stats count that disagrees with the disk, a re-sent batch answered with an error
or with anything but duplicates when it was acknowledged before, a daemon that does not come back.

Python 3 standard library only (sqlite3 included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time


class RPC:
    """A blocking newline-delimited JSON-RPC client on the daemon's socket."""

    def __init__(self, path: str, timeout: float = 120.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, method: str, params: dict) -> int:
        request_id = self.next_id
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}) + "\n"
        self.sock.sendall(line.encode())
        return request_id

    def read(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def call(self, method: str, params: dict | None = None) -> dict:
        request_id = self.send(method, params or {})
        while True:
            answer = self.read()
            if answer is None:
                raise ConnectionError(f"connection closed before the answer to {method}")
            if answer.get("id") == request_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]


class Daemon:
    def __init__(self, binary: str, config: str, socket_path: str, log_path: str):
        self.binary, self.config, self.socket_path, self.log_path = binary, config, socket_path, log_path
        self.process: subprocess.Popen | None = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([self.binary, "serve", "--config", self.config],
                                        stdout=subprocess.DEVNULL, stderr=log)
        log.close()

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds until `health` answers; raises when the daemon dies or never answers."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode} while starting; see {self.log_path}")
            try:
                client = RPC(self.socket_path, timeout=5)
                try:
                    client.call("health")
                    return time.monotonic() - started
                finally:
                    client.close()
            except (OSError, ConnectionError, RuntimeError, ValueError):
                time.sleep(0.02)
        raise RuntimeError(f"daemon did not answer within {timeout} s; see {self.log_path}")

    def kill(self):
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)


class Streamer(threading.Thread):
    """Sends batches in order with `depth` requests in flight and records every answer."""

    def __init__(self, socket_path: str, batches: list[bytes], first: int, depth: int = 2):
        super().__init__(daemon=True)
        self.socket_path, self.batches, self.first, self.depth = socket_path, batches, first, depth
        self.answers: dict[int, dict] = {}   # batch index -> ingest result (acknowledged)
        self.errors: dict[int, dict] = {}    # batch index -> JSON-RPC error
        self.sent: list[int] = []            # batch indices written to the socket
        self.ended = ""

    def run(self):
        try:
            client = RPC(self.socket_path)
        except OSError as error:
            self.ended = f"connect: {error}"
            return
        in_flight: dict[int, int] = {}  # request id -> batch index
        index = self.first
        try:
            while index < len(self.batches) or in_flight:
                while index < len(self.batches) and len(in_flight) < self.depth:
                    request_id = client.send("ingest", {"format": "cloudevents", "data": self.batches[index].decode()})
                    in_flight[request_id] = index
                    self.sent.append(index)
                    index += 1
                answer = client.read()
                if answer is None:
                    self.ended = "connection closed"
                    return
                batch = in_flight.pop(answer["id"])
                if "result" in answer:
                    self.answers[batch] = answer["result"]
                else:
                    self.errors[batch] = answer.get("error", {})
            self.ended = "end of file"
        except (OSError, ValueError) as error:
            self.ended = f"{type(error).__name__}: {error}"
        finally:
            client.close()


def store_census(database: str) -> tuple[int, dict[tuple[str, str], int]]:
    """Rows in `events` and, per event identity (source, id), how often it is stored."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        counts: dict[tuple[str, str], int] = {}
        rows = 0
        for (body,) in connection.execute("SELECT body FROM events"):
            event = json.loads(body)
            key = (event["source"], event["id"])
            counts[key] = counts.get(key, 0) + 1
            rows += 1
        return rows, counts
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", required=True, help="NDJSON file of CloudEvents with unique identities")
    parser.add_argument("--work", required=True, help="directory for state, socket, config and log (emptied)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--batch", type=int, default=500, help="events per ingest request")
    parser.add_argument("--max-delay", type=float, default=2.0, help="the kill comes 0.05 s to this long after the stream starts")
    parser.add_argument("--resend-acknowledged", type=int, default=3, help="acknowledged batches of earlier rounds re-sent each round")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    lines = [line for line in open(args.events, "rb").read().split(b"\n") if line.strip()]
    keys = []
    for line in lines:
        event = json.loads(line)
        keys.append((event["source"], event["id"]))
    if len(set(keys)) != len(keys):
        print("crash-recovery: the input has repeated event identities; it needs unique ones", file=sys.stderr)
        return 2
    batches = [b"\n".join(lines[i:i + args.batch]) for i in range(0, len(lines), args.batch)]
    batch_keys = [keys[i:i + args.batch] for i in range(0, len(lines), args.batch)]

    work = args.work
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    state, socket_path = f"{work}/state", f"{work}/run/k.sock"
    config = f"{work}/ketenzicht.yaml"
    with open(config, "w") as f:
        f.write(f"version: 1\npaths: {{ state: {state}, socket: {socket_path}, graphs: {work}/graphs }}\n"
                "graphs: { svg: false }\n")
    database = f"{state}/events.sqlite"
    daemon = Daemon(args.binary, config, socket_path, f"{work}/daemon.log")

    print(f"crash-recovery: seed {args.seed}, {args.rounds} rounds, {len(lines)} events in {len(batches)} batches of "
          f"{args.batch}, kill 0.05-{args.max_delay} s into each round's stream, state kept across rounds")
    print(f"  replay with: scripts/crash-recovery.sh {args.rounds} {args.seed}")

    violations: list[str] = []
    acknowledged: set[int] = set()        # batches ever acknowledged
    acknowledged_first_time = 0           # events acknowledged when first sent (before a kill)
    cursor = 0                            # the next batch never sent
    committed_unacknowledged = 0          # events stored before the kill whose answer never came
    restart_seconds: list[float] = []
    survived = 0
    daemon.start()
    daemon.wait_ready()

    for round_number in range(1, args.rounds + 1):
        if cursor >= len(batches):
            print(f"round {round_number}: the input is exhausted; stopping (use a larger file for more rounds)")
            break
        problems: list[str] = []
        delay = rng.uniform(0.05, args.max_delay)
        streamer = Streamer(socket_path, batches, cursor)
        streamer.start()
        time.sleep(delay)
        daemon.kill()
        streamer.join(timeout=60)

        round_acknowledged = set(streamer.answers)
        for batch, error in streamer.errors.items():
            problems.append(f"batch {batch} answered with an error: {error}")
        for batch, answer in streamer.answers.items():
            taken = answer["accepted"] + answer["pending"] + answer["duplicates"]
            if answer["rejected"] or taken != len(batch_keys[batch]):
                problems.append(f"batch {batch} answered {answer}")
        acknowledged |= round_acknowledged
        acknowledged_first_time += sum(len(batch_keys[b]) for b in round_acknowledged)
        last_sent = max(streamer.sent) if streamer.sent else cursor - 1
        unacknowledged = [b for b in range(cursor, last_sent + 1) if b not in round_acknowledged]

        # On disk, as the kill left it.
        rows, counts = store_census(database)
        acknowledged_keys = {key for b in acknowledged for key in batch_keys[b]}
        lost = [key for key in acknowledged_keys if key not in counts]
        duplicated = [key for key, n in counts.items() if n > 1]
        if lost:
            problems.append(f"{len(lost)} acknowledged events not in the store after the kill, e.g. {lost[:3]}")
        if duplicated:
            problems.append(f"{len(duplicated)} events stored more than once, e.g. {duplicated[:3]}")
        stored_unacknowledged = sum(1 for b in unacknowledged for key in batch_keys[b] if key in counts)
        committed_unacknowledged += stored_unacknowledged

        # Restart over the stale socket file and lock; now and then kill it again while it replays.
        replay_kill = rng.random() < 0.25
        if replay_kill:
            daemon.start()
            time.sleep(rng.uniform(0.0, 0.3))
            daemon.kill()
        daemon.start()
        try:
            restart_seconds.append(daemon.wait_ready())
        except RuntimeError as error:
            problems.append(str(error))
            violations += [f"round {round_number}: {p}" for p in problems]
            print(f"round {round_number:2}: daemon did not come back: {error}")
            break
        client = RPC(socket_path)
        events_via_socket = client.call("stats")["events"]
        if events_via_socket != rows:
            problems.append(f"stats says {events_via_socket} events, the store holds {rows}")

        # Re-send: this round's unacknowledged batches, and a few acknowledged ones of any round.
        earlier = sorted(acknowledged)
        again = rng.sample(earlier, min(args.resend_acknowledged, len(earlier)))
        resent_duplicates = 0
        for batch in unacknowledged + again:
            try:
                answer = client.call("ingest", {"format": "cloudevents", "data": batches[batch].decode()})
            except RuntimeError as error:
                problems.append(f"re-sent batch {batch}: {error}")
                continue
            resent_duplicates += answer["duplicates"]
            if answer["rejected"] or answer["accepted"] + answer["pending"] + answer["duplicates"] != len(batch_keys[batch]):
                problems.append(f"re-sent batch {batch} answered {answer}")
            if batch in acknowledged and answer["duplicates"] != len(batch_keys[batch]):
                problems.append(f"acknowledged batch {batch} was stored again: {answer}")
            acknowledged.add(batch)
        cursor = last_sent + 1

        expected = sum(len(batch_keys[b]) for b in range(cursor))
        events_via_socket = client.call("stats")["events"]
        client.close()
        rows, counts = store_census(database)
        expected_keys = {key for b in range(cursor) for key in batch_keys[b]}
        missing = expected_keys - counts.keys()
        duplicated = [key for key, n in counts.items() if n > 1]
        if events_via_socket != expected or rows != expected or missing or duplicated or len(counts) != expected:
            problems.append(f"after re-sending: stats {events_via_socket}, store rows {rows}, distinct {len(counts)}, "
                            f"expected {expected}; missing {len(missing)}, duplicated {len(duplicated)}")

        status = "ok" if not problems else "VIOLATION"
        if not problems:
            survived += 1
        print(f"round {round_number:2}: kill at {delay:5.2f} s{' +replay kill' if replay_kill else ''}; "
              f"batches acked {len(round_acknowledged):3}, unacked {len(unacknowledged)} "
              f"({stored_unacknowledged} of their events committed before the kill); "
              f"restart {restart_seconds[-1]:5.2f} s; re-sent {len(unacknowledged) + len(again)} "
              f"({resent_duplicates} duplicates); store {rows} events; lost {len(lost)}, duplicated {len(duplicated)}: {status}",
              flush=True)
        for problem in problems:
            print(f"    {problem}")
        violations += [f"round {round_number}: {p}" for p in problems]

    # A clean stop and one more start: the same count, no duplicates.
    final_events = None
    if daemon.process.poll() is None:
        code = daemon.stop()
        if code != 0:
            violations.append(f"SIGTERM: exit code {code}")
        daemon.start()
        daemon.wait_ready()
        client = RPC(socket_path)
        final_events = client.call("stats")["events"]
        client.close()
        daemon.stop()
    rows, counts = store_census(database)
    sent_keys = {key for b in range(cursor) for key in batch_keys[b]}
    acknowledged_events = sum(len(batch_keys[b]) for b in acknowledged)
    lost_total = len(sent_keys - counts.keys())
    duplicated_total = sum(n - 1 for n in counts.values() if n > 1)
    if final_events is not None and final_events != len(sent_keys):
        violations.append(f"after a clean restart stats says {final_events} events, {len(sent_keys)} were sent")

    print()
    print(f"crash-recovery summary (seed {args.seed}):")
    print(f"  rounds survived:          {survived}/{args.rounds}")
    print(f"  events acknowledged:      {acknowledged_events} in {len(acknowledged)} batches "
          f"({acknowledged_first_time} under fire, the rest when re-sent after a restart)")
    print(f"  committed, not yet acked: {committed_unacknowledged} events (stored before the kill, answer lost; re-sent as duplicates)")
    print(f"  lost:                     {lost_total}")
    print(f"  duplicated:               {duplicated_total}")
    print(f"  final store:              {rows} events, {len(counts)} distinct; distinct events sent {len(sent_keys)}")
    if restart_seconds:
        print(f"  restart after SIGKILL:    median {statistics.median(restart_seconds):.2f} s, max {max(restart_seconds):.2f} s "
              f"(replaying up to {rows} events)")
    if violations:
        print(f"  VIOLATIONS: {len(violations)}")
        for violation in violations:
            print(f"    {violation}")
        return 1
    if survived < args.rounds:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
