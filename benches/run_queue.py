"""Which threads waited on a CPU run queue, and for how long.

Every 50 ms reads /proc/<pid>/task/<tid>/schedstat (time run, time waited
runnable) for the threads of the named processes and prints each thread
that waited more than THRESHOLD_MS in one interval, with the time and the
machine's steal ticks when they grow. A request that takes a second while
neither the server nor PostgreSQL logs work for it is often one of these:
a runnable backend the scheduler did not run.

    python3 benches/run_queue.py SECONDS [NAME_PREFIX ...]   # default: pilcrow postgres wrk
"""

import datetime
import os
import sys
import time

THRESHOLD_MS = 150


def threads(prefixes):
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
            if not comm.startswith(prefixes):
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                ran, waited = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[:2]
                name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
                found[(pid, tid)] = (f"{comm}/{name}", int(ran), int(waited))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return found


def steal():
    return int(open("/proc/stat").readline().split()[8])


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    prefixes = tuple(sys.argv[2:]) or ("pilcrow", "postgres", "wrk")
    end = time.time() + seconds
    before, stolen = threads(prefixes), steal()
    while time.time() < end:
        time.sleep(0.05)
        now, stolen_now = threads(prefixes), steal()
        at = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        if stolen_now - stolen >= 5:
            print(at, "steal", stolen_now - stolen, "ticks", flush=True)
        for key, (name, ran, waited) in now.items():
            if key in before:
                waited_ms = (waited - before[key][2]) / 1e6
                if waited_ms > THRESHOLD_MS:
                    ran_ms = (ran - before[key][1]) / 1e6
                    print(at, name, key[1], f"waited {waited_ms:.0f} ms runnable, ran {ran_ms:.0f} ms", flush=True)
        before, stolen = now, stolen_now


if __name__ == "__main__":
    main()
