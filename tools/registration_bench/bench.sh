#!/usr/bin/env bash
# Usage: ./bench.sh [REPS] [OUT] -> raw rows variant,profile,kind,rep,wall_s,user_s,sys_s,load1
set -euo pipefail
cd "$(dirname "$0")"
REPS=${1:-3}; OUT=${2:-raw.csv}
echo "variant,profile,kind,rep,wall_s,user_s,sys_s,load1" > $OUT
C="nice -n 19 cargo"
t() { /usr/bin/time -f "%e,%U,%S" -o .t_bench "$@" >/dev/null 2>&1; cat .t_bench; }
load1() { cut -d' ' -f1 /proc/loadavg; }
for v in inventory linkme; do   # dependencies first
  (cd ws_$v && $C build -j 1 -q && $C build -j 1 -q --release)
done
uptime | tee uptime_start.txt
for rep in $(seq 1 $REPS); do
  for prof in release dev; do
    pf=""; [ $prof = release ] && pf="--release"
    for v in inventory linkme; do
      cd ws_$v
      $C clean -q -p registry -p layers -p app $pf
      l=$(load1); s=$(t $C build -j 1 $pf)
      echo "$v,$prof,clean,$rep,$s,$l" | tee -a ../$OUT
      touch layers/src/l42.rs
      l=$(load1); s=$(t $C build -j 1 $pf)
      echo "$v,$prof,incr,$rep,$s,$l" | tee -a ../$OUT
      cd ..
    done
  done
done
uptime | tee uptime_end.txt
