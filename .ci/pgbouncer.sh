# PgBouncer for CI, sourced by .ci/run: a version with prepared statements in
# transaction mode (>= 1.21), Debian 12's 1.18 for the negative control, and
# one instance started per call. Packages come from the mirror this machine's
# apt sources name; no host is written here.

# The first Debian mirror of the apt sources (deb822 or one-line format).
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "no Debian mirror in the apt sources" >&2; return 1; }
  echo "$uri"
}

# pgbouncer_binary DIR: a PgBouncer >= 1.21 under DIR; prints its path. The
# machine's own package where it is new enough, else built from the source
# package of Debian 13 (trixie), which needs libevent and c-ares.
pgbouncer_binary() {
  local dir=$1 candidate
  mkdir -p "$dir"
  candidate=$(apt-cache policy pgbouncer 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && dpkg --compare-versions "$candidate" ge 1.21; then
    pgbouncer_packaged "$dir"
    return
  fi
  if [ ! -x "$dir/build/bin/pgbouncer" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libevent-dev libc-ares-dev pkg-config gcc make >&2
    local apt="$dir/apt"
    mkdir -p "$apt/lists/partial"
    cat > "$apt/trixie.sources" <<EOF
Types: deb-src
URIs: $(debian_mirror)
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    local opts=(-o "Dir::Etc::SourceList=$apt/trixie.sources" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt/lists")
    apt-get "${opts[@]}" update -qq >&2
    (cd "$dir" && apt-get "${opts[@]}" source --download-only -qq pgbouncer >&2)
    local tarball
    tarball=$(ls "$dir"/pgbouncer_*.orig.tar.gz | head -1)
    tar -xzf "$tarball" -C "$dir"
    (cd "$dir"/pgbouncer-*/ && ./configure -q --prefix="$dir/build" --without-openssl >&2 && make -s -j"$(nproc)" >&2 \
      && make -s install >&2)
  fi
  echo "$dir/build/bin/pgbouncer"
}

# pgbouncer_packaged DIR: the machine's pgbouncer package unpacked under DIR
# (not installed: its service would start on the default port); prints the binary.
pgbouncer_packaged() {
  local dir=$1
  mkdir -p "$dir/deb"
  if [ ! -x "$dir/deb/usr/sbin/pgbouncer" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libevent-2.1-7 libc-ares2 >&2
    (cd "$dir" && apt-get download -qq pgbouncer >&2)
    dpkg-deb -x "$(ls "$dir"/pgbouncer_*.deb | head -1)" "$dir/deb"
  fi
  echo "$dir/deb/usr/sbin/pgbouncer"
}

# pgbouncer_start BINARY DIR PORT UPSTREAM [prepared]: PgBouncer in transaction
# mode on 127.0.0.1:PORT in front of UPSTREAM ("host=… port=… user=…"), four
# server connections per database (PGBOUNCER_POOL_SIZE), as the PostgreSQL user (PgBouncer refuses
# root). With "prepared", it keeps clients' prepared statements apart.
pgbouncer_start() {
  local binary=$1 dir=$2 port=$3 upstream=$4 prepared=${5:-}
  mkdir -p "$dir"
  cat > "$dir/pgbouncer.ini" <<EOF
[databases]
* = $upstream

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = ${PGBOUNCER_POOL_SIZE:-4}
max_db_connections = ${PGBOUNCER_POOL_SIZE:-4}
max_client_conn = 4000
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  [ "$prepared" = prepared ] && echo "max_prepared_statements = 200" >> "$dir/pgbouncer.ini"
  install -m 755 "$binary" "$dir/pgbouncer"  # the postgres user may not reach the cache under $HOME
  chown -R postgres "$dir"
  runuser -u postgres -- "$dir/pgbouncer" -d "$dir/pgbouncer.ini"
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p "$port" -q && return; sleep 0.1; done
  echo "PgBouncer did not start on port $port:"; tail -5 "$dir/pgbouncer.log"; return 1
}
