#!/usr/bin/env bash
# A one-node SLURM cluster on loopback for tests: munged, slurmctld and slurmd on this machine,
# everything (config, spool, logs, pid files) under $CKF_SLURM_STATE (default /tmp/ckf-slurm).
#
#   local-cluster.sh start    install slurm-wlm + munge if missing, start the daemons, wait for idle
#   local-cluster.sh stop     stop the daemons this script started (by their pid files)
#   local-cluster.sh status   daemons and node state
#
# Afterwards: `export SLURM_CONF=$CKF_SLURM_STATE/slurm.conf` (lib.sh does it) and use sbatch.
# Exit status 3 from start: SLURM cannot be installed here (no apt-get or not root); tests skip on it.
#
# Why the settings below: Debian's OpenMPI has only a PMIx client, so srun must start ranks with
# MpiDefault=pmix; there are no cgroups, hence proctrack/linuxproc and task/none; the node advertises
# CPUs=$CKF_SLURM_CPUS (config_overrides) so multi-task jobs are not pending forever on a 2-core VM;
# batch_sched_delay=0,sched_min_interval=0 turns a job around in about a second; TmpFS in the state
# directory keeps the PMIx step directories (/tmp/spmix_appdir_UID_JOB.STEP by default) of two local
# clusters apart: both number their jobs from 1.
set -euo pipefail

state=${CKF_SLURM_STATE:-/tmp/ckf-slurm}
cpus=${CKF_SLURM_CPUS:-16}
ctld_port=${CKF_SLURM_CTLD_PORT:-6817}
slurmd_port=${CKF_SLURM_SLURMD_PORT:-6818}
node=$(hostname -s)
conf=$state/slurm.conf
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "local-cluster: $*" >&2; }

install_slurm() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
     command -v sbatch >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    log "slurm-wlm/munge are not installed and cannot be installed (needs root and apt-get)"
    exit 3
  fi
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -q >"$state/apt.log" 2>&1 ||
     ! apt-get install -y -q --no-install-recommends slurm-wlm munge >>"$state/apt.log" 2>&1; then
    log "apt-get failed (log: $state/apt.log)"; tail -n 5 "$state/apt.log" >&2
    exit 3
  fi
}

# proc_alive PID: the process runs and is not a zombie (killed daemons linger as zombies briefly).
proc_alive() {
  [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# pid_alive PIDFILE: the pid in the file is alive.
pid_alive() {
  [ -s "$1" ] && proc_alive "$(cat "$1" 2>/dev/null)"
}

write_config() {
  mkdir -p "$state/ctld" "$state/slurmd" "$state/munge" "$state/tmp"
  chown munge:munge "$state/munge"
  chmod 700 "$state/munge"
  chmod 755 "$state"
  if ! runuser -u munge -- test -w "$state/munge"; then
    log "the munge user cannot reach $state/munge: make every parent directory of $state world-searchable"
    exit 1
  fi
  cat >"$conf" <<EOF
# Written by cluster/slurm/local-cluster.sh: one node on loopback, no accounting, no cgroups.
ClusterName=ckf-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
TmpFS=$state/tmp
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
ReturnToService=2
JobRequeue=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
}

start() {
  mkdir -p "$state"
  install_slurm
  if pid_alive "$state/slurmctld.pid" && pid_alive "$state/slurmd.pid" && pid_alive "$state/munged.pid"; then
    log "already running ($state)"
  else
    stop_daemons quiet
    write_config
    # munged refuses to run as root with its log file; run it as the munge user with its own socket.
    runuser -u munge -- munged --socket="$state/munge/munge.socket" --pid-file="$state/munge/munged.pid" \
      --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed" --force
    wait_for_pidfile "$state/munge/munged.pid" munged
    ln -sf "$state/munge/munged.pid" "$state/munged.pid"
    # slurmctld hangs silently without munge: check it answers first.
    if ! munge -n --socket="$state/munge/munge.socket" | unmunge --socket="$state/munge/munge.socket" >/dev/null; then
      log "munge does not answer (log: $state/munge/munged.log)"; exit 1
    fi
    SLURM_CONF=$conf slurmctld -f "$conf" -i
    wait_for_pidfile "$state/slurmctld.pid" slurmctld
    SLURM_CONF=$conf slurmd -f "$conf"
    wait_for_pidfile "$state/slurmd.pid" slurmd
  fi
  export SLURM_CONF=$conf
  # shellcheck source=lib.sh
  source "$here/lib.sh"
  # A node left down by an earlier run comes back with resume.
  if sinfo -h -N -o %t 2>/dev/null | grep -Eq 'down|drain'; then
    scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
  fi
  if ! wait_for_node_idle 60; then
    log "node did not become idle; logs: $state/slurmctld.log $state/slurmd.log"
    tail -n 5 "$state/slurmctld.log" "$state/slurmd.log" >&2 || true
    exit 1
  fi
  log "up: export SLURM_CONF=$conf"
}

# wait_for_pidfile FILE NAME: a daemon writes its pid file once it has started.
wait_for_pidfile() {
  for _ in $(seq 1 100); do
    pid_alive "$1" && return 0
    sleep 0.1
  done
  log "$2 did not start (see the logs in $state)"
  exit 1
}

# stop_daemons [quiet]: TERM each daemon started here, KILL after 10 s; zombies count as gone.
stop_daemons() {
  local f pid
  for f in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/munged.pid"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    if proc_alive "$pid"; then
      [ "${1:-}" = quiet ] || log "stopping $(basename "$f" .pid) (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do proc_alive "$pid" || break; sleep 0.1; done
      if proc_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$f"
  done
  rm -f "$state/munged.pid"
}

status() {
  local f name rc=0
  for name in munged slurmctld slurmd; do
    f=$state/$name.pid
    if pid_alive "$f"; then echo "$name: running (pid $(cat "$f"))"; else echo "$name: stopped"; rc=1; fi
  done
  if [ "$rc" -eq 0 ]; then SLURM_CONF=$conf sinfo -N -l || rc=1; fi
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  status) status ;;
  *) echo "usage: $0 {start|stop|status}   (state in \$CKF_SLURM_STATE, default /tmp/ckf-slurm)" >&2; exit 2 ;;
esac
