#!/usr/bin/env bash
# One-node SLURM cluster on localhost for the test suite (Debian 12, root, no systemd).
#
#   bash tests/slurm/local-cluster.sh [start|stop|status]      (default: start)
#
# start is idempotent: it installs missing Debian packages, writes the configs, starts
# only the daemons that are not running (restarting slurmctld/slurmd when slurm.conf or
# gres.conf changed) and waits until the node is idle. stop kills the daemons it started,
# by PID file only. Knobs (environment):
#   SLURM_LOCAL_BASE   state, logs, run (PID files), fake devices   [/var/tmp/latedecay-slurm]
#   SLURM_WITH_DBD     1: slurmdbd + MariaDB (the plugin polls sacct); 0: none      [1]
#   SLURM_PARTITIONS   partition names, all on the one node, first is Default      [debug]
#   SLURM_ACCOUNTS     accounts created for root, first is DefaultAccount            [ci]
#   SLURM_FAKE_GPUS    N > 0: Gres=gpu:N backed by /dev/null clones (jobs run on CPU) [0]
#   SLURM_FAKE_GPU_TYPE  GPU model of the fake GPUs (Gres=gpu:TYPE:N, --gpus=TYPE:1)  []
#   SLURM_APT_UPDATE   1: apt-get update before installing                          [0]
set -euo pipefail

BASE=${SLURM_LOCAL_BASE:-/var/tmp/latedecay-slurm}
WITH_DBD=${SLURM_WITH_DBD:-1}
PARTITIONS=${SLURM_PARTITIONS:-debug}
ACCOUNTS=${SLURM_ACCOUNTS:-ci}
FAKE_GPUS=${SLURM_FAKE_GPUS:-0}
FAKE_GPU_TYPE=${SLURM_FAKE_GPU_TYPE:-}
APT_UPDATE=${SLURM_APT_UPDATE:-0}
DB_PASS=latedecay-local-only   # MariaDB listens on 127.0.0.1 only
ETC=/etc/slurm
RUN=$BASE/run
LOGS=$BASE/logs
MUNGE_PID=/run/munge/munged.pid
MYSQL_PID=/run/mysqld/mysqld.pid

log() { echo "[local-cluster] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
    local secs=$1 what=$2; shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || die "timed out after ${secs}s waiting for $what"
        sleep 0.5
    done
}

# pid_alive PIDFILE NAME: the PID file names a live process whose comm is NAME.
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]]
}

stop_daemon() {
    local pidfile=$1 name=$2 pid i
    if ! pid_alive "$pidfile" "$name"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.5
    done
    if [[ -d /proc/$pid ]]; then
        log "$name ignored SIGTERM for 30 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

install_packages() {
    local pkgs=(slurmctld slurmd slurm-client munge) missing=() p
    ((WITH_DBD)) && pkgs+=(slurmdbd mariadb-server)
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
    log "installing ${missing[*]}"
    ((APT_UPDATE)) && apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# node_line: NodeName line from the real topology (slurmd -C), 95 % of its memory.
node_line() {
    local topo host cpus sockets cores threads mem gres=""
    host=$(hostname -s)
    topo=$(slurmd -C | head -1)
    field() { grep -o "$1=[0-9]*" <<<"$topo" | cut -d= -f2; }
    cpus=$(field CPUs) sockets=$(field SocketsPerBoard) cores=$(field CoresPerSocket)
    threads=$(field ThreadsPerCore) mem=$(field RealMemory)
    ((FAKE_GPUS > 0)) && gres=" Gres=gpu:${FAKE_GPU_TYPE:+$FAKE_GPU_TYPE:}$FAKE_GPUS"
    echo "NodeName=$host CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores" \
        "ThreadsPerCore=$threads RealMemory=$((mem * 95 / 100))$gres State=UNKNOWN"
}

slurm_conf() {
    local host p default=YES
    host=$(hostname -s)
    cat <<CONF
# Written by tests/slurm/local-cluster.sh: one-node test cluster, no cgroups.
ClusterName=latedecay
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$BASE/state/ctld
SlurmdSpoolDir=$BASE/state/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge=600
ReturnToService=2
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/linux
CONF
    if ((WITH_DBD)); then
        cat <<CONF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStoreFlags=job_comment
CONF
    fi
    if ((FAKE_GPUS > 0)); then
        echo "GresTypes=gpu"
        ((WITH_DBD)) && echo "AccountingStorageTRES=gres/gpu"
    fi
    node_line
    for p in $PARTITIONS; do
        echo "PartitionName=$p Nodes=$host Default=$default MaxTime=INFINITE State=UP"
        default=NO
    done
}

gres_conf() {
    local i files=()
    for ((i = 0; i < FAKE_GPUS; i++)); do
        # A char device slurmd can stat; /dev/null's numbers, so nothing real is touched.
        [[ -c $BASE/dev/fakegpu$i ]] || mknod "$BASE/dev/fakegpu$i" c 1 3
        files+=("$BASE/dev/fakegpu$i")
    done
    echo "# Written by tests/slurm/local-cluster.sh"
    if ((FAKE_GPUS > 0)); then
        echo "NodeName=$(hostname -s) Name=gpu${FAKE_GPU_TYPE:+ Type=$FAKE_GPU_TYPE} File=$(
            IFS=,
            echo "${files[*]}"
        )"
    fi
}

slurmdbd_conf() {
    cat <<CONF
# Written by tests/slurm/local-cluster.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DB_PASS
CONF
}

# install_file SRC DEST MODE: replace DEST if it differs; returns 0 when it changed.
install_file() {
    if [[ -f $2 ]] && cmp -s "$1" "$2"; then
        rm -f "$1"
        return 1
    fi
    install -m "$3" "$1" "$2"
    rm -f "$1"
}

write_configs() {
    local changed=1 tmp
    mkdir -p "$ETC" "$RUN" "$LOGS" "$BASE/state/ctld" "$BASE/state/d" "$BASE/dev"
    chmod 755 "$BASE" "$LOGS"   # munged (user munge) writes its log here
    tmp=$(mktemp)
    slurm_conf >"$tmp"
    install_file "$tmp" "$ETC/slurm.conf" 644 && changed=0
    tmp=$(mktemp)
    gres_conf >"$tmp"
    install_file "$tmp" "$ETC/gres.conf" 644 && changed=0
    if ((WITH_DBD)); then
        tmp=$(mktemp)
        slurmdbd_conf >"$tmp"
        install_file "$tmp" "$ETC/slurmdbd.conf" 600 || true
    fi
    return $changed
}

ensure_hostname() {
    local host
    host=$(hostname -s)
    getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >>/etc/hosts
}

start_munge() {
    pid_alive "$MUNGE_PID" munged && return 0
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    install -d -o munge -g munge -m 755 /run/munge
    touch "$LOGS/munged.log"
    chown munge:munge "$LOGS/munged.log"
    log "starting munged"
    runuser -u munge -- munged --pid-file="$MUNGE_PID" --log-file="$LOGS/munged.log"
    wait_for 20 munge bash -c 'munge -n | unmunge'
}

mariadb_up() { mariadb-admin --protocol=socket ping; }

start_mariadb() {
    local pid
    pid_alive "$MYSQL_PID" mariadbd && return 0
    install -d -o mysql -g mysql -m 755 /run/mysqld
    [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql >/dev/null
    log "starting mariadbd"
    setsid nohup mariadbd --user=mysql --bind-address=127.0.0.1 --pid-file="$MYSQL_PID" \
        --innodb-buffer-pool-size=128M >"$LOGS/mariadb.log" 2>&1 </dev/null &
    pid=$!
    local end=$((SECONDS + 60))
    until mariadb_up >/dev/null 2>&1; do
        [[ -d /proc/$pid ]] || die "mariadbd exited; see $LOGS/mariadb.log"
        ((SECONDS < end)) || die "mariadbd not answering after 60 s; see $LOGS/mariadb.log"
        sleep 0.5
    done
    mariadb --protocol=socket <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
}

start_slurmdbd() {
    pid_alive "$RUN/slurmdbd.pid" slurmdbd && return 0
    log "starting slurmdbd"
    slurmdbd
    wait_for 60 slurmdbd sacctmgr -n list cluster
}

start_slurm() {
    if ! pid_alive "$RUN/slurmctld.pid" slurmctld; then
        log "starting slurmctld"
        slurmctld -i
    fi
    wait_for 60 slurmctld scontrol ping
    if ! pid_alive "$RUN/slurmd.pid" slurmd; then
        log "starting slurmd"
        slurmd
    fi
}

add_accounts() {
    local a first=""
    for a in $ACCOUNTS; do
        first=${first:-$a}
        # Both fail harmlessly ("Nothing new added") when the entry already exists.
        sacctmgr -i add account "$a" Description="$a" Organization=latedecay >/dev/null 2>&1 || true
        sacctmgr -i add user root Account="$a" >/dev/null 2>&1 || true
    done
    sacctmgr -i modify user root set DefaultAccount="$first" >/dev/null 2>&1 || true
}

node_state() { sinfo -h -n "$(hostname -s)" -o %t 2>/dev/null | head -1; }

wait_node_idle() {
    local host state end=$((SECONDS + 90))
    host=$(hostname -s)
    while :; do
        state=$(node_state)
        case $state in
        idle | mix | alloc | comp) return 0 ;;
        down* | drain* | drng* | inval*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        ((SECONDS < end)) || die "node $host is '$state' after 90 s; see $LOGS/slurmd.log and $LOGS/slurmctld.log"
        sleep 1
    done
}

cmd_start() {
    [[ $EUID -eq 0 ]] || die "needs root (daemons, apt, /etc/slurm)"
    install_packages
    ensure_hostname
    local restart=0
    write_configs && restart=1
    if ((restart)); then
        stop_daemon "$RUN/slurmd.pid" slurmd
        stop_daemon "$RUN/slurmctld.pid" slurmctld
    fi
    start_munge
    if ((WITH_DBD)); then
        start_mariadb
        start_slurmdbd
    fi
    start_slurm
    ((WITH_DBD)) && add_accounts
    wait_node_idle
    sinfo
}

cmd_stop() {
    stop_daemon "$RUN/slurmd.pid" slurmd
    stop_daemon "$RUN/slurmctld.pid" slurmctld
    stop_daemon "$RUN/slurmdbd.pid" slurmdbd
    stop_daemon "$MYSQL_PID" mariadbd
    stop_daemon "$MUNGE_PID" munged
}

cmd_status() {
    local rc=0 entry pidfile name
    local entries=("$MUNGE_PID:munged" "$RUN/slurmctld.pid:slurmctld" "$RUN/slurmd.pid:slurmd")
    ((WITH_DBD)) && entries+=("$MYSQL_PID:mariadbd" "$RUN/slurmdbd.pid:slurmdbd")
    for entry in "${entries[@]}"; do
        pidfile=${entry%%:*} name=${entry##*:}
        if pid_alive "$pidfile" "$name"; then
            echo "$name running (pid $(<"$pidfile"))"
        else
            echo "$name stopped"
            rc=3
        fi
    done
    return $rc
}

case ${1:-start} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "usage: $0 [start|stop|status]" ;;
esac
