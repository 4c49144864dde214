#!/usr/bin/env python3
"""Hostile clients against `ketenzicht serve` (SPEC §6, issue 7). Driven by scripts/hostile-clients.sh.

A daemon with the sample municipality loaded is attacked, all at once, by:
  holders     200 connections opened at once and held; a quarter subscribe to alerts
  overflow    more connections while the holders are up, until socket.maxConnections refuses them
  slowloris   connections sending a request line one byte a second (socket.requestTimeoutSeconds)
  oversize    request lines of 17 MiB, beyond socket.maxRequestBytes (16 MiB), and 15 MiB lines of
              a million values each (within the size, beyond the values a request may hold)
  flood       invalid JSON as fast as the socket takes it, answers read, echo now and then
  deaf        clients that pipeline requests and never read an answer (socket.sendTimeoutSeconds)
  nobody      uid 65534, which has no level (access.others: none), connecting again and again
while a well-behaved client measures its `echo` and `case.get` latency (before the attack as a
baseline, and during it) and the daemon's memory (VmRSS, VmHWM) is sampled every 100 ms.

Every role is its own process (python3 standard library only), so the measuring client does not
share an interpreter lock with the attackers. Exit 1 when the daemon died, stopped answering
(a well-behaved request failed or took longer than 5 s), grew beyond the memory bound, or a guard
was not seen working.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ERROR_NAMES = {-32700: "parse error", -32600: "invalid request", -32001: "permission denied",
               -32003: "request too large", -32006: "too many connections", -32007: "request timeout"}


def connect(path: str, timeout: float = 30.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def request_line(request_id, method: str, params: dict | None = None) -> bytes:
    return (json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}) + "\n").encode()


class Lines:
    """Reads newline-delimited JSON from a socket."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buffer = sock, b""

    def read(self) -> dict | None:
        """The next object; None at the end of the connection (or a reset after the last line)."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(1 << 16)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return {"unparseable": line[:80].decode(errors="replace")}


def error_code(answer: dict | None):
    return (answer or {}).get("error", {}).get("code") if isinstance((answer or {}).get("error"), dict) else None


def call(lines: Lines, request_id, method: str, params: dict | None = None) -> dict | None:
    lines.sock.sendall(request_line(request_id, method, params))
    while True:
        answer = lines.read()
        if answer is None or answer.get("id") == request_id:
            return answer


def emit(result: dict):
    print(json.dumps(result), flush=True)


# ---- roles -------------------------------------------------------------------------------------

def role_holders(args):
    """Opens `count` connections at once, holds them, and checks at the end that each still answers."""
    held, too_many, subscribed, failed = [], 0, 0, 0
    socks = []
    for _ in range(args.count):
        try:
            socks.append(connect(args.socket))
        except OSError:
            failed += 1
    for index, sock in enumerate(socks):
        method = "alerts.subscribe" if index % 4 == 0 else "echo"
        try:
            sock.sendall(request_line(index, method, {"holder": index}))
        except OSError:
            pass
    for index, sock in enumerate(socks):
        lines = Lines(sock)
        answer = lines.read()
        if error_code(answer) == -32006:
            too_many += 1
        elif answer and "result" in answer:
            held.append(lines)
            subscribed += index % 4 == 0
        else:
            failed += 1
    time.sleep(args.seconds)
    alive = 0
    for index, lines in enumerate(held):
        try:
            answer = call(lines, f"end-{index}", "echo", {"still": index})
            alive += bool(answer and answer.get("result", {}).get("still") == index)
        except OSError:
            pass
    emit({"role": "holders", "opened": len(socks), "accepted": len(held), "tooManyConnections": too_many, "failed": failed,
          "subscribed": subscribed, "aliveAtEnd": alive})


def role_overflow(args):
    """Opens connections until the daemon refuses several in a row, holds the accepted ones a while."""
    time.sleep(args.start_after)
    held, too_many, other = [], 0, 0
    consecutive = 0
    while consecutive < 20 and len(held) < 1000:
        try:
            sock = connect(args.socket)
            sock.sendall(request_line(1, "echo"))
            lines = Lines(sock)
            answer = lines.read()
        except OSError:
            other += 1
            consecutive += 1
            continue
        if error_code(answer) == -32006:
            too_many += 1
            consecutive += 1
            sock.close()
        elif answer and "result" in answer:
            held.append(sock)
            consecutive = 0
        else:
            other += 1
            sock.close()
    time.sleep(args.hold)
    for sock in held:
        sock.close()
    emit({"role": "overflow", "accepted": len(held), "tooManyConnections": too_many, "other": other})


def role_slowloris(args):
    """`count` connections, each sending a request line one byte a second and never finishing it."""
    results = {"timeouts": 0, "tooManyConnections": 0, "other": 0, "bytesBeforeCutOff": []}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    partial = b'{"jsonrpc":"2.0","id":1,"method":"echo","params":{"slow":"' + b"s" * 100_000

    def one():
        while time.monotonic() < deadline:
            try:
                sock = connect(args.socket, timeout=args.seconds + 30)
            except OSError:
                with lock:
                    results["other"] += 1
                time.sleep(1)
                continue
            lines, sent, outcome = Lines(sock), 0, None
            sock.setblocking(False)
            while time.monotonic() < deadline and outcome is None:
                try:
                    sock.send(partial[sent:sent + 1])
                    sent += 1
                except BlockingIOError:
                    pass
                except OSError:
                    outcome = "closed"
                time.sleep(1)
                try:
                    outcome = "answered" if sock.recv(1, socket.MSG_PEEK) else "closed"
                except BlockingIOError:
                    pass
                except OSError:
                    outcome = "closed"
            sock.setblocking(True)
            sock.settimeout(5)
            answer = lines.read() if outcome else None
            code = error_code(answer)
            with lock:
                if code == -32007:
                    results["timeouts"] += 1
                    results["bytesBeforeCutOff"].append(sent)
                elif code == -32006:
                    results["tooManyConnections"] += 1
                elif outcome:
                    results["other"] += 1
            sock.close()

    threads = [threading.Thread(target=one) for _ in range(args.count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cut = results.pop("bytesBeforeCutOff")
    results["secondsBeforeCutOff"] = [min(cut), max(cut)] if cut else None
    emit({"role": "slowloris", "connections": args.count, **results})


def role_oversize(args):
    """Sends, in turn, 17 MiB lines (one more MiB than allowed) and 15 MiB lines of `[1,1,1,…]`
    (within the size limit, but millions of values: a request that would cost the daemon
    hundreds of MiB to parse)."""
    results = {"refused": 0, "wideRefused": 0, "tooManyConnections": 0, "other": 0, "maxBytesTaken": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    chunk = b"x" * (1 << 20)
    wide = (b'{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":[' + b"1," * (15 << 19) + b'1]}}\n')

    def one(wide_turn: bool):
        while time.monotonic() < deadline:
            try:
                sock = connect(args.socket)
            except OSError:
                time.sleep(0.5)
                continue
            sent = 0
            try:
                if wide_turn:
                    sock.sendall(wide)
                else:
                    for _ in range(17):
                        sock.sendall(chunk)
                        sent += len(chunk)
                    sock.sendall(b"\n")
            except OSError:
                pass
            answer = Lines(sock).read()
            code = error_code(answer)
            with lock:
                if code == -32003 and not wide_turn:
                    results["refused"] += 1
                    results["maxBytesTaken"] = max(results["maxBytesTaken"], sent)
                elif code == -32600 and wide_turn:
                    results["wideRefused"] += 1
                elif code == -32006:
                    results["tooManyConnections"] += 1
                else:
                    results["other"] += 1
            sock.close()
            wide_turn = not wide_turn
            time.sleep(0.5)

    threads = [threading.Thread(target=one, args=(index % 2 == 1,)) for index in range(args.count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results["maxMiBSentBeforeRefusal"] = round(results.pop("maxBytesTaken") / (1 << 20), 1)
    emit({"role": "oversize", "connections": args.count, **results})


def role_flood(args):
    """Pipelines invalid JSON as fast as the daemon takes it; an echo every 500 lines must answer."""
    garbage = [b"{not json\n", b"\x7f\x01\xfe binary\n", b'{"jsonrpc":"2.0","method":\n', b"[1,2,3]\n", b"42\n"]
    results = {"sent": 0, "parseErrors": 0, "invalidRequests": 0, "echoes": 0, "other": 0, "connectionsAlive": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def one():
        try:
            sock = connect(args.socket)
        except OSError:
            return
        lines = Lines(sock)
        counts = {"sent": 0, "parseErrors": 0, "invalidRequests": 0, "echoes": 0, "other": 0}

        def reader():
            while True:
                answer = lines.read()
                if answer is None:
                    return
                code = error_code(answer)
                if code == -32700:
                    counts["parseErrors"] += 1
                elif code == -32600:
                    counts["invalidRequests"] += 1
                elif answer.get("result", {}).get("alive") is True:
                    counts["echoes"] += 1
                    if answer.get("id") == "last":
                        return
                else:
                    counts["other"] += 1

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            while time.monotonic() < deadline:
                block = b"".join(garbage[i % len(garbage)] for i in range(500))
                sock.sendall(block + request_line("echo", "echo", {"alive": True}))
                counts["sent"] += 501
            sock.sendall(request_line("last", "echo", {"alive": True}))
        except OSError:
            pass
        thread.join(timeout=60)
        sock.close()
        with lock:
            for key, value in counts.items():
                results[key] += value
            results["connectionsAlive"] += int(not thread.is_alive() and counts["echoes"] > 0)

    threads = [threading.Thread(target=one) for _ in range(args.count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emit({"role": "flood", "connections": args.count, **results})


def role_deaf(args):
    """Pipelines `parties` requests and never reads; counts how often the daemon cuts it off."""
    results = {"cutOff": 0, "requestsSent": 0, "tooManyConnections": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def one():
        while time.monotonic() < deadline:
            try:
                sock = connect(args.socket)
            except OSError:
                time.sleep(1)
                continue
            # Admitted first (an answer read), so a refusal at the door is not taken for a cut-off.
            try:
                first = call(Lines(sock), "admitted", "echo")
            except OSError:
                first = None
            if error_code(first) == -32006 or first is None:
                with lock:
                    results["tooManyConnections"] += error_code(first) == -32006
                sock.close()
                time.sleep(1)
                continue
            sock.settimeout(1.0)
            sent, closed = 0, False
            while time.monotonic() < deadline and not closed:
                try:
                    sock.sendall(request_line(sent, "parties"))
                    sent += 1
                except socket.timeout:
                    continue   # the daemon stopped reading us: backpressure
                except OSError:
                    closed = True
            with lock:
                results["requestsSent"] += sent
                results["cutOff"] += closed
            sock.close()

    threads = [threading.Thread(target=one) for _ in range(args.count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emit({"role": "deaf", "connections": args.count, **results})


def role_nobody(args):
    """Run as a uid without a level: every connection should get -32001 and be closed."""
    results = {"refused": 0, "answered": 0, "tooManyConnections": 0, "other": 0, "message": None}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            sock = connect(args.socket)
            lines = Lines(sock)
            answer = lines.read()
            try:
                sock.sendall(request_line(1, "health"))
                later = lines.read()
            except OSError:
                later = None
            sock.close()
        except OSError as error:
            results["other"] += 1
            results["message"] = str(error)
            time.sleep(0.5)
            continue
        if error_code(answer) == -32001 and later is None:
            results["refused"] += 1
            results["message"] = answer["error"]["message"]
        elif error_code(answer) == -32006:
            results["tooManyConnections"] += 1
        elif answer and "result" in answer or later and "result" in later:
            results["answered"] += 1
        else:
            results["other"] += 1
        time.sleep(0.5)
    emit({"role": "nobody", "uid": os.getuid(), **results})


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank, as docs/benchmarks.md uses."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-int(p * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def role_measure(args):
    """The well-behaved client: sequential echo and case.get, latency in ms."""
    cases = [c for c in open(args.cases).read().split() if c]
    sock = connect(args.socket, timeout=30)
    lines = Lines(sock)
    latencies = {"echo": [], "case.get": []}
    failures, slowest = [], 0.0
    deadline = time.monotonic() + args.seconds
    request = 0
    while time.monotonic() < deadline:
        for method, params in (("echo", {"x": request}),
                               ("case.get", {"id": cases[request % len(cases)], "asOf": "2026-11-01T00:00:00Z"})):
            started = time.perf_counter()
            try:
                answer = call(lines, request, method, params)
            except OSError as error:
                answer = {"error": {"message": str(error)}}
            elapsed = (time.perf_counter() - started) * 1000
            slowest = max(slowest, elapsed)
            if not answer or "result" not in answer or elapsed > 5000:
                failures.append(f"{method}: {answer.get('error') if answer else 'connection closed'} after {elapsed:.0f} ms")
                if not answer:
                    sock = connect(args.socket, timeout=30)
                    lines = Lines(sock)
            else:
                latencies[method].append(elapsed)
            request += 1
        time.sleep(0.005)
    summary = {}
    for method, values in latencies.items():
        values.sort()
        summary[method] = {"count": len(values), "p50": round(percentile(values, 0.5), 3),
                           "p99": round(percentile(values, 0.99), 3), "max": round(values[-1], 3) if values else None}
    emit({"role": "measure", "latencyMs": summary, "failures": failures[:10], "failureCount": len(failures),
          "slowestMs": round(slowest, 1)})


# ---- the run -----------------------------------------------------------------------------------

class MemorySampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.peak_rss, self.hwm, self.alive, self.running = pid, 0, 0, 0, True, True

    def read(self) -> tuple[int, int] | None:
        try:
            status = open(f"/proc/{self.pid}/status").read()
        except OSError:
            return None
        if re.search(r"^State:\s+Z", status, re.M):
            return None
        rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        hwm = int(re.search(r"^VmHWM:\s+(\d+)", status, re.M).group(1))
        return rss, hwm

    def run(self):
        while self.running:
            values = self.read()
            if values is None:
                self.alive = False
                return
            self.samples += 1
            self.peak_rss = max(self.peak_rss, values[0])
            self.hwm = values[1]
            time.sleep(0.1)


def spawn(script: str, role: str, socket_path: str, *extra: str, user: list[str] | None = None) -> subprocess.Popen:
    command = (user or []) + [sys.executable, script, role, "--socket", socket_path, *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def collect(process: subprocess.Popen, timeout: float) -> dict:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return {"error": "did not finish"}
    for line in reversed(out.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {"error": f"no result (exit {process.returncode})"}


def run(args) -> int:
    script = os.path.abspath(__file__)
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)
    socket_path, state = f"{work}/run/k.sock", f"{work}/state"
    config = f"{work}/ketenzicht.yaml"
    with open(config, "w") as f:
        f.write(f"""version: 1
paths: {{ state: {state}, socket: {socket_path}, graphs: {work}/graphs }}
socket: {{ maxConnections: {args.max_connections}, requestTimeoutSeconds: {args.request_timeout}, sendTimeoutSeconds: {args.send_timeout} }}
access: {{ others: none }}
graphs: {{ svg: false }}
""")
    ingest = subprocess.run([args.binary, "ingest", "--no-progress", "--state", state, args.sample],
                            capture_output=True, text=True)
    print(f"hostile-clients: loaded {args.sample}: {ingest.stdout.strip()}")
    cases = f"{work}/cases.txt"
    ids = sorted(set(re.findall(r'"case":"(c-[0-9]+)"', open(args.sample).read())))[:500]
    open(cases, "w").write("\n".join(ids))

    log = open(f"{work}/daemon.log", "wb")
    daemon = subprocess.Popen([args.binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(600):
        try:
            connect(socket_path).close()
            break
        except OSError:
            time.sleep(0.05)
    # Let the first alert evaluation (the whole model, in the background) pass before measuring.
    for _ in range(300):
        if b"alerts evaluated" in open(f"{work}/daemon.log", "rb").read():
            break
        time.sleep(0.1)
    os.chmod(f"{work}/run", 0o755)
    os.chmod(socket_path, 0o666)
    sampler = MemorySampler(daemon.pid)
    sampler.start()
    time.sleep(0.5)
    idle_rss = sampler.peak_rss

    print(f"hostile-clients: daemon pid {daemon.pid}, idle RSS {idle_rss // 1024} MiB; baseline for {args.baseline} s")
    baseline = collect(spawn(script, "measure", socket_path, "--seconds", str(args.baseline), "--cases", cases), args.baseline + 60)
    idle_peak = sampler.peak_rss

    duration = args.seconds
    print(f"hostile-clients: attack for {duration} s (maxConnections {args.max_connections}, "
          f"requestTimeoutSeconds {args.request_timeout}, sendTimeoutSeconds {args.send_timeout}, maxRequestBytes 16 MiB)")
    attackers = {
        "holders": spawn(script, "holders", socket_path, "--count", "200", "--seconds", str(duration)),
        "slowloris": spawn(script, "slowloris", socket_path, "--count", "20", "--seconds", str(duration)),
        "oversize": spawn(script, "oversize", socket_path, "--count", "3", "--seconds", str(duration)),
        "flood": spawn(script, "flood", socket_path, "--count", "3", "--seconds", str(duration)),
        "deaf": spawn(script, "deaf", socket_path, "--count", "3", "--seconds", str(duration)),
        "overflow": spawn(script, "overflow", socket_path, "--start-after", "3", "--hold", "8"),
    }
    setpriv = shutil.which("setpriv")
    if os.getuid() == 0 and setpriv:
        attackers["nobody"] = spawn(script, "nobody", socket_path, "--seconds", str(duration),
                                    user=[setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"])
    time.sleep(1)
    under_attack = collect(spawn(script, "measure", socket_path, "--seconds", str(duration - 2), "--cases", cases), duration + 60)
    results = {name: collect(process, duration + 120) for name, process in attackers.items()}

    # After the attack: the daemon answers, and the memory has come back down.
    time.sleep(1)
    after = collect(spawn(script, "measure", socket_path, "--seconds", "3", "--cases", cases), 60)
    sampler.running = False
    sampler.join()
    alive = daemon.poll() is None and sampler.alive
    final_rss = sampler.read()
    accepted_refused = (results.get("holders", {}).get("accepted", 0) + results.get("overflow", {}).get("accepted", 0),
                        sum(r.get("tooManyConnections", 0) for r in results.values()))
    if alive:
        daemon.send_signal(signal.SIGTERM)
        exit_code = daemon.wait(timeout=60)
    else:
        exit_code = daemon.returncode
    log.close()
    log_text = open(f"{work}/daemon.log", errors="replace").read()

    bound_kib = idle_peak + args.memory_bound_mib * 1024
    violations = []
    if not alive:
        violations.append("the daemon died")
    for name, measured in (("baseline", baseline), ("under attack", under_attack), ("after", after)):
        if measured.get("failureCount", 1):
            violations.append(f"well-behaved client {name}: {measured.get('failureCount')} failed or >5 s requests: {measured.get('failures') or measured}")
    # VmHWM is the kernel's own peak: it also catches a spike between two samples.
    peak_kib = max(sampler.peak_rss, sampler.hwm)
    if peak_kib > bound_kib:
        violations.append(f"peak memory {peak_kib // 1024} MiB beyond the bound {bound_kib // 1024} MiB")
    holders = results.get("holders", {})
    if holders.get("aliveAtEnd") != holders.get("accepted") or holders.get("accepted") != 200:
        violations.append(f"holders: {holders}")
    if not results.get("overflow", {}).get("tooManyConnections"):
        violations.append(f"overflow: no connection refused: {results.get('overflow')}")
    if not results.get("slowloris", {}).get("timeouts"):
        violations.append(f"slowloris: never cut off: {results.get('slowloris')}")
    oversize = results.get("oversize", {})
    if not oversize.get("refused") or not oversize.get("wideRefused") or oversize.get("other"):
        violations.append(f"oversize: {results.get('oversize')}")
    flood = results.get("flood", {})
    if flood.get("connectionsAlive") != 3 or not flood.get("parseErrors"):
        violations.append(f"flood: {flood}")
    if not results.get("deaf", {}).get("cutOff"):
        violations.append(f"deaf: never cut off: {results.get('deaf')}")
    if "nobody" in results and (not results["nobody"].get("refused") or results["nobody"].get("answered")):
        violations.append(f"nobody: {results['nobody']}")
    if exit_code != 0:
        violations.append(f"SIGTERM after the attack: exit code {exit_code}")

    def latency(measured, method):
        values = measured.get("latencyMs", {}).get(method, {})
        return f"p50 {values.get('p50', float('nan')):7.3f} ms, p99 {values.get('p99', float('nan')):8.3f} ms, max {values.get('max') or float('nan'):8.1f} ms ({values.get('count', 0)} requests)"

    print()
    print("hostile-clients summary:")
    print(f"  connections:        accepted {accepted_refused[0]} held at once (200 holders + overflow), "
          f"refused {accepted_refused[1]} with -32006 across all clients (maxConnections {args.max_connections})")
    print(f"  holders:            {holders.get('accepted')} of 200 accepted, {holders.get('subscribed')} subscribed to alerts, "
          f"{holders.get('aliveAtEnd')} still answering after {duration} s")
    print(f"  overflow:           {results.get('overflow')}")
    print(f"  slowloris:          {results.get('slowloris')}")
    print(f"  oversized lines:    {results.get('oversize')}")
    print(f"  invalid JSON flood: {flood}")
    print(f"  never-reading:      {results.get('deaf')}")
    print(f"  uid without level:  {results.get('nobody', 'skipped (needs root and setpriv)')}")
    print(f"  well-behaved echo:     idle {latency(baseline, 'echo')}")
    print(f"                         attack {latency(under_attack, 'echo')}")
    print(f"  well-behaved case.get: idle {latency(baseline, 'case.get')}")
    print(f"                         attack {latency(under_attack, 'case.get')}")
    print(f"  after the attack:      echo {latency(after, 'echo')}")
    print(f"  daemon memory:      idle RSS {idle_peak // 1024} MiB, peak RSS sampled {sampler.peak_rss // 1024} MiB, "
          f"VmHWM {sampler.hwm // 1024} MiB, after {final_rss[0] // 1024 if final_rss else '?'} MiB; "
          f"bound idle + {args.memory_bound_mib} MiB = {bound_kib // 1024} MiB; {sampler.samples} samples")
    print(f"  daemon log:         {log_text.count('request line not completed in time')} request timeouts, "
          f"{log_text.count('request line too long')} oversized lines, {log_text.count('answers unread')} unread-answer cut-offs, "
          f"{log_text.count('no access level')} peers without a level, "
          f"{log_text.count('socket.maxConnections reached')} refusal reports (at most one per 10 s)")
    print(f"  daemon:             {'alive' if alive else 'DEAD'}; SIGTERM exit code {exit_code}")
    print(f"  machine load:       {open('/proc/loadavg').read().split()[0]} (1-minute average, {os.cpu_count()} cores)")
    if violations:
        print("  VIOLATIONS:")
        for violation in violations:
            print(f"    {violation}")
        return 1
    print("  result: ok")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="role", required=True)
    runner = sub.add_parser("run")
    runner.add_argument("--binary", required=True)
    runner.add_argument("--sample", required=True)
    runner.add_argument("--work", required=True)
    runner.add_argument("--seconds", type=int, default=40)
    runner.add_argument("--baseline", type=int, default=8)
    runner.add_argument("--max-connections", type=int, default=256)
    runner.add_argument("--request-timeout", type=float, default=5)
    runner.add_argument("--send-timeout", type=float, default=5)
    runner.add_argument("--memory-bound-mib", type=int, default=256)
    for name in ("holders", "overflow", "slowloris", "oversize", "flood", "deaf", "nobody", "measure"):
        role = sub.add_parser(name)
        role.add_argument("--socket", required=True)
        role.add_argument("--seconds", type=float, default=30)
        role.add_argument("--count", type=int, default=1)
        role.add_argument("--start-after", type=float, default=0)
        role.add_argument("--hold", type=float, default=5)
        role.add_argument("--cases")
    args = parser.parse_args()
    if args.role == "run":
        return run(args)
    globals()[f"role_{args.role}"](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
