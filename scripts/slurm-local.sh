#!/usr/bin/env bash
# A one-node Slurm cluster on this host, for the slurm provider's tests and for trying it out.
#
#   scripts/slurm-local.sh [DIR]        start (idempotent); prints the slurm.conf path on stdout
#   scripts/slurm-local.sh stop [DIR]   stop slurmctld and slurmd (munged keeps running: it is
#                                       the host's authentication service, not ours)
#
# DIR holds slurm.conf, state, spool, pid and log files; default /tmp/computemd-slurm. Needs root
# and the Debian packages `slurm-wlm munge`. Use it as:
#
#   export SLURM_CONF="$(scripts/slurm-local.sh)"
#
# Everything host-specific (name, CPUs, memory, GPUs) is read at run time, never written in here.
set -euo pipefail

log() { printf 'slurm-local: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

cmd=start
if [ "${1:-}" = stop ] || [ "${1:-}" = start ]; then
  cmd=$1
  shift
fi
DIR=${1:-/tmp/computemd-slurm}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/slurm.conf
NODE=$(hostname -s)

# Process $1 is alive and named $2.
running() { [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

# A daemon is ours and alive when its pid file names a live process of that name.
alive() {
  local pidfile=$DIR/run/$1.pid
  [ -s "$pidfile" ] && running "$(cat "$pidfile")" "$1"
}

stop_daemon() {
  local name=$1 pid
  if ! alive "$name"; then
    log "$name is not running"
    return 0
  fi
  pid=$(cat "$DIR/run/$name.pid")
  kill "$pid"
  # Wait on the process, not the pid file: slurmctld removes its file before it has exited.
  for _ in $(seq 1 50); do
    running "$pid" "$name" || break
    sleep 0.2
  done
  if running "$pid" "$name"; then
    log "$name ($pid) did not stop in 10 s; sending SIGKILL"
    kill -9 "$pid" || true
  fi
  log "stopped $name ($pid)"
}

if [ "$cmd" = stop ]; then
  stop_daemon slurmd
  stop_daemon slurmctld
  exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (the daemons run as SlurmUser=root)"
for bin in munged munge unmunge slurmctld slurmd sinfo scontrol; do
  command -v "$bin" >/dev/null || die "$bin not found. To fix: apt-get install -y slurm-wlm munge"
done

# --- munge: refuses to start until its directories exist and belong to the munge user.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge /etc/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  chown munge:munge /run/munge
  chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
  log "starting munged"
  su -s /bin/sh munge -c 'munged --force'
  for _ in $(seq 1 25); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.2
  done
  munge -n | unmunge >/dev/null || die "munged does not answer; see /var/log/munge/munged.log"
fi

# --- slurm.conf, from what this host has now.
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
CPUS=$(nproc)
# slurmd -C prints the memory slurmd will register with; a RealMemory above it drains the node.
MEM=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -n1)
[ -n "$MEM" ] || MEM=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
GPUS=0
if command -v nvidia-smi >/dev/null; then
  GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
fi
GRES=""
if [ "$GPUS" -gt 0 ]; then
  GRES=" Gres=gpu:$GPUS"
  printf 'AutoDetect=off\nName=gpu File=/dev/nvidia[0-%d]\n' "$((GPUS - 1))" >"$DIR/gres.conf.new"
else
  : >"$DIR/gres.conf.new"
fi

cat >"$CONF.new" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on $NODE. Regenerated on each start.
ClusterName=computemd
SlurmctldHost=$NODE(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# No accounting database: sacct has no history, and a finished job leaves scontrol after
# MinJobAge seconds (the provider keeps the last state it saw).
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Per-task CPU figures for sstat, sampled every second so a short test sees them.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
MinJobAge=300
KillWait=5
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
${GRES:+GresTypes=gpu}
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM${GRES} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# An empty gres.conf.new means "no gres.conf": compare it with an absent file as equal.
changed=0
for f in "$CONF" "$DIR/gres.conf"; do
  if [ ! -s "$f.new" ] && [ ! -e "$f" ]; then
    rm -f "$f.new"
  elif cmp -s "$f.new" "$f"; then
    rm -f "$f.new"
  elif [ -s "$f.new" ]; then
    mv "$f.new" "$f"
    changed=1
  else
    rm -f "$f.new" "$f"
    changed=1
  fi
done
export SLURM_CONF=$CONF

# --- daemons: start what is not running; a changed config restarts both.
if [ "$changed" = 1 ] && { alive slurmctld || alive slurmd; }; then
  log "slurm.conf changed; restarting the daemons"
  stop_daemon slurmd
  stop_daemon slurmctld
fi
if ! alive slurmctld; then
  log "starting slurmctld (log: $DIR/log/slurmctld.log)"
  slurmctld
fi
if ! alive slurmd; then
  log "starting slurmd (log: $DIR/log/slurmd.log)"
  slurmd
fi

# --- wait until the node has registered and is usable. Idle on a fresh start; a restart while
# jobs run finds it mixed or allocated, which is up as well. Anything else after 60 s fails.
state=""
for i in $(seq 1 120); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1 || true)
  case "$state" in
  idle | mixed | allocated | completing) break ;;
  drained | draining | down)
    # Left drained or down by an earlier run (e.g. a stopped slurmd): it is back now.
    [ "$i" -gt 6 ] && scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
    ;;
  esac
  sleep 0.5
done
case "$state" in
idle | mixed | allocated | completing) ;;
*) die "node $NODE is '${state:-not listed}' after 60 s; see $DIR/log/slurmctld.log and slurmd.log" ;;
esac
log "node $NODE is $state ($CPUS CPUs, $MEM MiB${GRES:+, $GPUS GPUs})"
echo "$CONF"
