#!/usr/bin/env bash
# A PostgreSQL primary and a hot standby streaming from it, on this machine,
# for trying and testing database.replica_url:
#
#   tests/replica/pair.sh start DIR [PRIMARY_PORT] [STANDBY_PORT]   (default 55432, 55433)
#   tests/replica/pair.sh stop DIR                                   (stops both, removes DIR)
#
# The primary commits a write only once the standby applied it
# (synchronous_commit = remote_apply): reads on the standby after an answered
# write see it. Run as root (the servers run as the postgres user) or as
# that user. Needs the PostgreSQL server package (initdb, pg_basebackup).
set -euo pipefail
command=${1:?start or stop}
dir=${2:?a directory for both data folders}
primary_port=${3:-55432}
standby_port=${4:-55433}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql"; exit 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$command" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_postgres "$bin/initdb" -D "$dir/primary" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  cat >> "$dir/primary/postgresql.conf" <<CONF
port = $primary_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 4
synchronous_standby_names = '*'
synchronous_commit = remote_apply
fsync = off
CONF
  as_postgres "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
  as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/standby" -R -X stream
  echo "port = $standby_port" | as_postgres tee -a "$dir/standby/postgresql.auto.conf" >/dev/null
  as_postgres "$bin/pg_ctl" -D "$dir/standby" -l "$dir/standby.log" -w start >/dev/null
  for _ in $(seq 1 50); do
    state=$(psql -h 127.0.0.1 -p "$primary_port" -U postgres -Atc "select sync_state from pg_stat_replication" postgres)
    [ "$state" = sync ] && break
    sleep 0.2
  done
  [ "$state" = sync ] || { echo "the standby did not become a synchronous standby"; tail -5 "$dir/standby.log"; exit 1; }
  echo "primary on 127.0.0.1:$primary_port, hot standby on 127.0.0.1:$standby_port (synchronous, remote_apply)"
  ;;
stop)
  for data in standby primary; do
    [ -d "$dir/$data" ] && as_postgres "$bin/pg_ctl" -D "$dir/$data" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR [PRIMARY_PORT] [STANDBY_PORT]"; exit 2 ;;
esac
