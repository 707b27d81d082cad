#!/usr/bin/env python3
"""A legacy trading process, with the seed-era backend's habits: it reads a data file with json.load,
changes it, and writes it back whole with json.dump(indent=2) over open('w') -- not atomically.
Each event it makes is printed as one JSON line.

  book <data dir> <count> <gap s>     book trades: read the trading state, add the PnL to its balance,
                                      write it back, then save_auto_trading_balance() writes the whole
                                      virtual_balance.json too (without the service's key)
  book-atomic <data dir> <count> <gap s>  book trades into the trading state the careful way: a temp
                                      file beside it, then os.replace over it (a new file in place)
  toggle <data dir> <seconds> <gap s> flip `enabled` in the trading state, over and over
  stall <data dir> <file> <stall s>…  per stall: read <file>, book a small PnL and set `tick`, write
                                      half of it, stall, write the rest; then wait 1.2 s
"""
import datetime
import json
import os
import sys
import time

ATS = 'auto_trading_state.json'
VB = 'virtual_balance.json'


def say(**event):
    print(json.dumps(event), flush=True)


def load(path):
    # The service writes atomically, but this process's own last write may still be in flight.
    while True:
        try:
            with open(path) as f:
                return json.load(f)
        except (ValueError, FileNotFoundError):
            time.sleep(0.002)


def dump(path, state, stall=0.0):
    if not stall:
        with open(path, 'w') as f:
            json.dump(state, f, indent=2)
        return
    text = json.dumps(state, indent=2)
    with open(path, 'w') as f:
        f.write(text[: len(text) // 2])
        f.flush()
        time.sleep(stall)
        f.write(text[len(text) // 2 :])


def book(data, count, gap):
    pnls = [1, 0.5, -0.25, 2]
    for i in range(count):
        state = load(os.path.join(data, ATS))
        pnl = pnls[i % len(pnls)]
        state['balance'] = state['balance'] + pnl
        dump(os.path.join(data, ATS), state)
        # save_auto_trading_balance(): the sidebar's file, whole, as the seed-era backend wrote it.
        dump(os.path.join(data, VB), {'balance': state['balance'], 'last_updated': datetime.datetime.now().isoformat()})
        say(booked=pnl)
        time.sleep(gap)


def book_atomic(data, count, gap):
    pnls = [1.25, -0.5, 3, 0.75]
    path = os.path.join(data, ATS)
    for i in range(count):
        state = load(path)
        pnl = pnls[i % len(pnls)]
        state['balance'] = state['balance'] + pnl
        temp = f'{path}.trader-{os.getpid()}.tmp'
        with open(temp, 'w') as f:
            json.dump(state, f, indent=2)
        os.replace(temp, path)
        say(booked=pnl)
        time.sleep(gap)


def toggle(data, seconds, gap):
    until = time.time() + seconds
    count = 0
    while time.time() < until:
        state = load(os.path.join(data, ATS))
        state['enabled'] = not state.get('enabled', False)
        dump(os.path.join(data, ATS), state)
        count += 1
        time.sleep(gap)
    say(toggles=count)


def stall(data, name, stalls):
    path = os.path.join(data, name)
    for i, seconds in enumerate(stalls):
        state = load(path)
        tick = f'{name}-{i}'
        pnl = (i + 1) / 1000
        state['tick'] = tick
        state['balance'] = state['balance'] + pnl
        dump(path, state, seconds)
        say(tick=tick, pnl=pnl, finished=time.time() * 1000)
        time.sleep(1.2)


if __name__ == '__main__':
    mode, data = sys.argv[1], sys.argv[2]
    if mode == 'book':
        book(data, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == 'book-atomic':
        book_atomic(data, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == 'toggle':
        toggle(data, float(sys.argv[3]), float(sys.argv[4]))
    elif mode == 'stall':
        stall(data, sys.argv[3], [float(s) for s in sys.argv[4:]])
    else:
        sys.exit(f'unknown mode {mode}')
