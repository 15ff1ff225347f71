#!/usr/bin/env bash
# PostgreSQL 15 logical replication catching up a backlog: the peer figure for
# `iocnode bench catchup` (issue 7, docs/benchmarks.md).
#
#   scripts/bench-postgres.sh [N] [--compare BINARY] [--timeout SECONDS] [--poll last-row|count] [--no-ssl]
#
# Two throwaway PostgreSQL 15 clusters (publisher and subscriber) are created in a temporary
# directory, listening on 127.0.0.1 and on unix sockets inside that directory, on free ports.
# With the subscription disabled (the subscriber is "down"), N field-report rows of ~1.2 KB
# (varied NFC Vietnamese text, 1,000 rows per transaction, like `iocnode bench`) are inserted at
# the publisher; then the subscription is enabled and the clock runs until the subscriber holds
# all N rows (polled every 50 ms through one open psql session: by default a primary-key probe
# for the last row inserted, which is visible only once every earlier transaction has been
# applied, since the apply worker commits in the publisher's order, then one count(*) to confirm;
# `--poll count` runs count(*) at every poll, which at 1M rows is itself a scan of ~1.3 GB
# competing for the 2 cores). Printed: rows/s, bytes per row on the replication connection (TCP
# payload of the walsender's socket, TLS included, from `ss`), WAL bytes per row
# (pg_wal_lsn_diff), and the apply worker's peak RSS (VmHWM). `--compare BINARY` also runs `BINARY bench catchup --entries N`
# (a release-built iocnode) in the same run, after the clusters are stopped, and prints the ratios.
#
# The clock starts at ALTER SUBSCRIPTION … ENABLE, so PostgreSQL's figure has no process start in
# it (shared/anchors/perf.md restarted the subscriber cluster, +2.2 s); ours starts at the ward's
# process start, after an offline period in which the ward sealed its outbox ahead (the bundles
# are to it what the WAL written before ENABLE is to the publisher). Every wait is bounded (--timeout, default max(120, N/2000) s, for the catch-up).
#
# Nothing else is touched: no system cluster is started, stopped or read. PostgreSQL 15 is
# installed from Debian packages if missing (Debian's package creates and starts its own
# "15/main" cluster on port 5432 when first installed; this script leaves it alone).
#
# Environment: PGBIN (default /usr/lib/postgresql/15/bin), SHARED_BUFFERS (default 1GB, as in
# shared/anchors/perf.md), BATCH (rows per publisher transaction, default 1000).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "bench-postgres: $*" >&2; exit 1; }

N=100000
COMPARE=""
TIMEOUT=""
POLL=last-row
SSL=1
while (($#)); do
    case $1 in
        --compare) COMPARE=${2:?--compare needs a path to an iocnode binary}; shift 2 ;;
        --compare=*) COMPARE=${1#*=}; shift ;;
        --timeout) TIMEOUT=${2:?}; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        --poll) POLL=${2:?}; shift 2 ;;
        --poll=*) POLL=${1#*=}; shift ;;
        --no-ssl) SSL=0; shift ;;
        -h | --help) usage; exit 0 ;;
        '' | *[!0-9]*) die "unexpected argument '$1' (see --help)" ;;
        *) N=$1; shift ;;
    esac
done
((N > 0)) || die "N must be positive"
[[ $POLL == last-row || $POLL == count ]] || die "--poll is last-row or count"
[[ -z $TIMEOUT ]] && TIMEOUT=$((N / 2000 > 120 ? N / 2000 : 120))
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout is a whole number of seconds"
BATCH=${BATCH:-1000}
SHARED_BUFFERS=${SHARED_BUFFERS:-1GB}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [[ -n $COMPARE ]]; then
    [[ $COMPARE == /* ]] || COMPARE=$PWD/$COMPARE
    [[ -x $COMPARE ]] || die "--compare: $COMPARE is not an executable"
fi
for tool in ss awk timeout ps; do command -v "$tool" >/dev/null || die "needs $tool"; done
((SSL == 0)) || command -v openssl >/dev/null || die "needs openssl (or pass --no-ssl)"

as_root() {
    if ((EUID == 0)); then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "PostgreSQL 15 is missing and installing it needs root: apt-get install postgresql-15"; fi
}

# 1. PostgreSQL 15 from Debian packages (bookworm ships 15.x).
if [[ ! -x $PGBIN/initdb ]]; then
    echo "installing postgresql-15 from Debian packages…" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    [[ -x $PGBIN/initdb ]] || die "postgresql-15 installed but $PGBIN/initdb is missing"
fi

# Clusters run as the `postgres` OS user when we are root (initdb refuses root).
if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "no postgres OS user (the postgresql-15 package creates it)"
    pgrun() { runuser -u postgres -- "$@"; }
else
    pgrun() { "$@"; }
fi

TMP=""
STARTED=()   # data directories of the clusters this script started
CMP_PID=""
PSQL_PID=""
cleanup() {
    local rc=$? d pid pids p
    set +e
    trap - EXIT INT TERM
    if [[ -n $CMP_PID ]] && kill -0 "$CMP_PID" 2>/dev/null; then
        # iocnode starts its `serve` children in process groups of their own: list every
        # descendant first (they are re-parented once their parent dies), then stop each by id.
        mapfile -t pids < <(descendants "$CMP_PID")
        kill -TERM "$CMP_PID" "${pids[@]}" 2>/dev/null
        for _ in $(seq 50); do
            p=""
            for pid in "$CMP_PID" "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && p=$pid; done
            [[ -z $p ]] && break
            sleep 0.1
        done
        kill -KILL "$CMP_PID" "${pids[@]}" 2>/dev/null
    fi
    if [[ -n $PSQL_PID ]] && kill -0 "$PSQL_PID" 2>/dev/null; then kill -TERM "$PSQL_PID" 2>/dev/null; fi
    for d in "${STARTED[@]}"; do
        if ((rc != 0)) && [[ -f $d/server.log ]]; then
            echo "--- last lines of $(basename "$d")/server.log" >&2
            tail -n 15 "$d/server.log" >&2
        fi
        stop_cluster "$d"
    done
    [[ -n $TMP && -d $TMP ]] && rm -rf -- "$TMP"
    exit "$rc"
}
descendants() { # descendants PID: every process below PID
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done
}
stop_cluster() { # bounded: fast, then immediate, then the postmaster's own pid
    local d=$1 pid
    [[ -f $d/postmaster.pid ]] || return 0
    pgrun "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 30 -s stop >/dev/null 2>&1 ||
        pgrun "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 15 -s stop >/dev/null 2>&1 || {
        pid=$(head -n 1 "$d/postmaster.pid" 2>/dev/null)
        [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null
        sleep 1
    }
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iocnode-bench-pg.XXXXXX")
chmod 700 "$TMP"
((EUID != 0)) || chown postgres: "$TMP"
pgrun test -w "$TMP" || die "$TMP is not writable by the postgres user (set TMPDIR to a directory it can reach)"
cd "$TMP"
SOCK=$TMP/sock
pgrun mkdir -m 700 "$SOCK"

USED_PORTS=" "
free_port() { # free_port VAR: a TCP port nothing on this machine uses, in 20000–59999
    local p
    for _ in $(seq 500); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        [[ $USED_PORTS == *" $p "* ]] && continue
        if [[ -z $(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null) ]]; then
            USED_PORTS+="$p "
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}

PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
# shellcheck disable=SC2016 # $1 is expanded by the inner sh
pgrun sh -c 'umask 077 && cat > "$1"' _ "$TMP/pwfile" <<<"$PASSWORD"
if ((SSL)); then
    pgrun mkdir -m 700 "$TMP/tls"
    pgrun openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 2 \
        -subj "/CN=127.0.0.1" -keyout "$TMP/tls/server.key" -out "$TMP/tls/server.crt" >/dev/null 2>&1 ||
        die "openssl could not make a server certificate"
    pgrun chmod 600 "$TMP/tls/server.key"
fi

make_cluster() { # make_cluster NAME PORT
    local d=$TMP/$1
    pgrun "$PGBIN/initdb" -D "$d" -U bench -E UTF8 --locale=C --auth-local=trust \
        --auth-host=scram-sha-256 --pwfile="$TMP/pwfile" --no-sync >"$TMP/initdb-$1.log" 2>&1 ||
        { cat "$TMP/initdb-$1.log" >&2; die "initdb $1 failed"; }
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    pgrun sh -c 'cat >> "$1/postgresql.conf"' _ "$d" <<EOF

# iocnode bench-postgres.sh: throwaway cluster, loopback only
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$SOCK'
wal_level = logical
max_wal_senders = 8
max_replication_slots = 8
max_logical_replication_workers = 4
shared_buffers = '$SHARED_BUFFERS'
max_wal_size = '8GB'
ssl = $( ((SSL)) && echo on || echo off)
ssl_cert_file = '$TMP/tls/server.crt'
ssl_key_file = '$TMP/tls/server.key'
log_line_prefix = '%m [%p] %b '
EOF
    STARTED+=("$d")
    pgrun "$PGBIN/pg_ctl" -D "$d" -l "$d/server.log" -w -t 60 -s start >/dev/null ||
        die "cluster $1 did not start within 60 s"
}

PUB_PORT="" SUB_PORT=""
free_port PUB_PORT
free_port SUB_PORT
make_cluster pub "$PUB_PORT"
make_cluster sub "$SUB_PORT"

pq() { # pq PORT SQL…: one statement batch, tuples only
    local port=$1; shift
    pgrun "$PGBIN/psql" -X -At -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -U bench -d bench "$@"
}
pgrun "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PUB_PORT" -U bench -d postgres -c "CREATE DATABASE bench"
pgrun "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$SUB_PORT" -U bench -d postgres -c "CREATE DATABASE bench"

# 2. The same table on both ends; rows built like Sources/IOCNode/BenchmarkData.swift.
TABLE_SQL="CREATE TABLE field_report (
    id uuid PRIMARY KEY, unit text NOT NULL, category text NOT NULL, status text NOT NULL,
    title text NOT NULL, description text NOT NULL, address text NOT NULL,
    received_at timestamptz NOT NULL, body jsonb NOT NULL);"
pq "$PUB_PORT" -c "$TABLE_SQL"
pq "$SUB_PORT" -c "$TABLE_SQL"
# A procedure so that each batch commits on its own: N/BATCH transactions reach the subscriber.
pq "$PUB_PORT" <<'SQL'
CREATE PROCEDURE bench_fill(n int, batch int) LANGUAGE plpgsql AS $proc$
DECLARE
    -- the vocabulary of BenchmarkData.swift (NFC)
    w text[] := string_to_array('người dân phản ánh tình trạng ngập nước kéo dài tại khu vực tổ dân phố sau mưa lớn đêm qua gây khó khăn cho việc đi lại của học sinh và công nhân đề nghị chính quyền địa phương sớm kiểm tra khơi thông cống rãnh thu gom rác thải xử lý dứt điểm lấn chiếm vỉa hè lòng đường đèn tín hiệu giao thông hư hỏng cây xanh gãy đổ nguy hiểm mùi hôi từ kênh thoát nước ô nhiễm không khí tiếng ồn công trình xây dựng ban đêm tụ tập đông người gây mất trật tự an ninh khu dân cư đường ống cấp nước bị vỡ áp lực nước yếu mất điện cục bộ trạm biến áp chợ tạm bày bán hàng rong thực phẩm không rõ nguồn gốc xuất xứ nghi ngộ độc sốt xuất huyết muỗi phát triển nhiều ổ dịch phun thuốc diệt muỗi vệ sinh môi trường đoàn kiểm tra liên ngành phường xã đã tiếp nhận chuyển xử lý đúng hạn phản hồi kết quả', ' ');
    nw int := array_length(w, 1);
    cats text[] := ARRAY['flooding', 'pollution', 'environment', 'food-safety', 'epidemic', 'traffic',
                         'infrastructure', 'urban-order', 'security', 'public-service', 'other'];
    chans text[] := ARRAY['hotline-1022', 'app', 'web', 'camera-ai'];
    lo int := 0;
BEGIN
    PERFORM setseed(0.2026);
    WHILE lo < n LOOP
        INSERT INTO field_report
        SELECT md5('iocnode-bench-' || i)::uuid, '20194', cats[1 + i % 11], 'new',
               'Phản ánh số ' || i || ': ' ||
                   (SELECT string_agg(w[1 + floor(random() * nw)::int], ' ') FROM generate_series(1, 6 + 0 * i)),
               (SELECT string_agg(w[1 + floor(random() * nw)::int], ' ') FROM generate_series(1, 104 + i % 8)),
               'Số ' || (i % 300 + 1) || ' đường Nguyễn Văn Linh, phường Hải Châu, thành phố Đà Nẵng',
               t,
               jsonb_build_object(
                   'kind', 'fieldReport', 'channel', chans[1 + i % 4], 'assignedUnit', '20194',
                   'location', jsonb_build_object('lat', 16.0 + (i % 1000) / 10000.0, 'lon', 108.2 + (i % 977) / 10000.0),
                   'dueAt', to_char((t + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                   'createdAt', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                   'originNode', 'hai-chau', 'version', jsonb_build_object('hai-chau', i))
        FROM generate_series(lo + 1, least(lo + batch, n)) AS i,
             LATERAL (SELECT now() - make_interval(secs => n - i)) AS ts(t);
        lo := lo + batch;
        COMMIT;
    END LOOP;
END
$proc$;
SQL

SSLMODE=$( ((SSL)) && echo require || echo disable)
pq "$PUB_PORT" -c "CREATE PUBLICATION bench_pub FOR TABLE field_report"
pq "$SUB_PORT" -c "SET client_min_messages = warning" -c "CREATE SUBSCRIPTION bench_sub
    CONNECTION 'host=127.0.0.1 port=$PUB_PORT dbname=bench user=bench password=$PASSWORD sslmode=$SSLMODE'
    PUBLICATION bench_pub WITH (copy_data = false)"

wait_for() { # wait_for SECONDS DESCRIPTION PORT SQL: until SQL returns t
    local limit=$((SECONDS + $1)) desc=$2 port=$3 sql=$4
    until [[ $(pq "$port" -c "$sql") == t ]]; do
        ((SECONDS < limit)) || die "timed out after $1 s waiting for $desc"
        sleep 0.1
    done
}
wait_for 30 "the subscription to stream" "$PUB_PORT" \
    "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = 'bench_sub' AND state = 'streaming')"
WORKER_STARTED=$SECONDS
# The subscriber goes down: no apply worker, no walsender; the slot keeps the backlog.
pq "$SUB_PORT" -c "ALTER SUBSCRIPTION bench_sub DISABLE"
wait_for 30 "the apply worker to stop" "$SUB_PORT" \
    "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_subscription WHERE subname = 'bench_sub' AND pid IS NOT NULL)"
wait_for 30 "the walsender to stop" "$PUB_PORT" \
    "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = 'bench_sub')"

now_us() { echo "${EPOCHREALTIME/./}"; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
LSN0=$(pq "$PUB_PORT" -c "SELECT pg_current_wal_lsn()")
t=$(now_us)
pgrun timeout -k 10 $((N / 200 > 600 ? N / 200 : 600)) \
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PUB_PORT" -U bench -d bench \
    -c "CALL bench_fill($N, $BATCH)" || die "inserting $N rows at the publisher failed or timed out"
INSERT_US=$(($(now_us) - t))
LSN1=$(pq "$PUB_PORT" -c "SELECT pg_current_wal_lsn()")
WAL_BYTES=$(pq "$PUB_PORT" -c "SELECT pg_wal_lsn_diff('$LSN1', '$LSN0')::bigint")
IFS='|' read -r ROWS ROW_BYTES TEXT_BYTES DESC_BYTES NFC TABLE_BYTES < <(pq "$PUB_PORT" -c "
    SELECT count(*), round(avg(pg_column_size(f.*))), round(avg(octet_length(f::text))),
           round(avg(octet_length(description))),
           bool_and(title IS NFC NORMALIZED AND description IS NFC NORMALIZED AND address IS NFC NORMALIZED),
           pg_table_size('field_report')
    FROM field_report f")
((ROWS == N)) || die "the publisher holds $ROWS rows, expected $N"
# Flush the backlog's dirty pages now, as a real offline period would, not during the catch-up.
pq "$PUB_PORT" -c "CHECKPOINT"
pq "$SUB_PORT" -c "CHECKPOINT"
LAST_ID=$(pq "$PUB_PORT" -c "SELECT md5('iocnode-bench-' || $N)::uuid")

# The launcher starts apply workers at most once per wal_retrieve_retry_interval (5 s by
# default) and otherwise sleeps a full interval: enabling sooner than that after the worker's
# first start would time the launcher's back-off, which a subscriber down for a while never
# meets. Let that interval pass (only small backlogs get here that early).
while ((SECONDS < WORKER_STARTED + 7)); do sleep 0.5; done

# 3. The subscriber comes back: enable, then poll every 50 ms until all N rows are visible.
read_mem() { # read_mem PID: sets HWM ANON SHMEM FILE (kB, 0 when unreadable)
    local k v rest
    HWM=0 ANON=0 SHMEM=0 FILE=0
    { while read -r k v rest; do
        case $k in VmHWM:) HWM=$v ;; RssAnon:) ANON=$v ;; RssShmem:) SHMEM=$v ;; RssFile:) FILE=$v ;; esac
    done <"/proc/$1/status"; } 2>/dev/null || true
}
cpu_seconds() { # cpu_seconds PID: user + system CPU time of a live process
    local f
    read -r -a f 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
    awk -v t=$((f[13] + f[14])) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

coproc SUBQ { pgrun "$PGBIN/psql" -X -At -q -h "$SOCK" -p "$SUB_PORT" -U bench -d bench 2>&1; }
PSQL_PID=$SUBQ_PID
ask() { # ask SQL: one row from the persistent subscriber session (bounded wait)
    local line
    printf '%s\n' "$1" >&"${SUBQ[1]}"
    IFS= read -r -t 60 line <&"${SUBQ[0]}" || die "no answer from the subscriber to: $1"
    printf '%s' "$line"
}
[[ $(ask "SELECT 'ready';") == ready ]] || die "the subscriber session did not start"
if [[ $POLL == count ]]; then PROBE="(SELECT count(*) >= $N FROM field_report)"
else PROBE="EXISTS (SELECT 1 FROM field_report WHERE id = '$LAST_ID')"; fi
WORKER_SQL="(SELECT coalesce(max(pid), 0) FROM pg_stat_subscription WHERE subname = 'bench_sub' AND relid IS NULL)"

APPLY_PID=0 APPLY_HWM=0 APPLY_ANON=0 APPLY_SHMEM=0 APPLY_FILE=0 POLLS=0
T0=$(now_us)
[[ $(ask "ALTER SUBSCRIPTION bench_sub ENABLE; SELECT 'enabled';") == enabled ]] || die "could not enable the subscription"
DEADLINE=$((T0 + TIMEOUT * 1000000))
while :; do
    answer=$(ask "SELECT $PROBE, $WORKER_SQL;")
    IFS='|' read -r caught_up pid <<<"$answer"
    [[ $pid =~ ^[0-9]+$ ]] || die "unexpected answer from the subscriber: $answer"
    NOW=$(now_us)
    POLLS=$((POLLS + 1))
    if ((pid > 0)); then
        APPLY_PID=$pid
        read_mem "$pid"
        ((HWM > APPLY_HWM)) && APPLY_HWM=$HWM
        ((ANON > APPLY_ANON)) && APPLY_ANON=$ANON
        ((SHMEM > APPLY_SHMEM)) && APPLY_SHMEM=$SHMEM
        ((FILE > APPLY_FILE)) && APPLY_FILE=$FILE
    fi
    if [[ $caught_up == t ]]; then
        # Commits apply in order, so the last row visible means the whole backlog is; check it.
        COUNT=$(ask "SELECT count(*) FROM field_report;")
        ((COUNT >= N)) && break
    fi
    ((NOW < DEADLINE)) || die "the subscriber did not catch up within $TIMEOUT s (see --timeout)"
    sleep 0.05
done
CATCHUP_US=$((NOW - T0))
read_mem "$APPLY_PID"
((HWM > APPLY_HWM)) && APPLY_HWM=$HWM
APPLY_CPU=$(cpu_seconds "$APPLY_PID")
fd=${SUBQ[1]}
exec {fd}>&-
for _ in $(seq 50); do kill -0 "$PSQL_PID" 2>/dev/null || break; sleep 0.1; done

# The walsender serving the subscription, and the bytes of its TCP connection since it opened.
IFS='|' read -r WS_PID SSLINFO < <(pq "$PUB_PORT" -c "
    SELECT r.pid, coalesce(s.version || ' ' || s.cipher, 'no TLS') FROM pg_stat_replication r
    LEFT JOIN pg_stat_ssl s ON s.pid = r.pid AND s.ssl WHERE r.application_name = 'bench_sub'")
read_mem "$WS_PID"
WS_HWM=$HWM
WS_CPU=$(cpu_seconds "$WS_PID")
read -r WIRE_SENT WIRE_RECV CONNS < <(ss -HtinO state established "( sport = :$PUB_PORT )" | awk '
    { n++; for (i = 1; i <= NF; i++) {
        if ($i ~ /^bytes_sent:/) { split($i, a, ":"); s += a[2] }
        if ($i ~ /^bytes_received:/) { split($i, a, ":"); r += a[2] } } }
    END { printf "%d %d %d\n", s, r, n }')
WIRE_SOURCE="TCP payload publisher→subscriber over $CONNS connection(s), ss"
if ((WIRE_SENT == 0)); then
    WIRE_SENT=$(awk '/^wchar:/ { print $2 }' "/proc/$WS_PID/io" 2>/dev/null || echo 0)
    WIRE_SOURCE="bytes the walsender wrote (/proc/PID/io wchar; ss gave none)"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
PG_VERSION=$("$PGBIN/postgres" --version | awk '{ print $3 }')

# Stop the clusters before anything else runs, so an autovacuum cannot overlap our run.
for d in "${STARTED[@]}"; do stop_cluster "$d"; done

div() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { printf "%.*f", d, a / b }'; } # div A B DECIMALS
PG_RATE=$(awk -v n="$N" -v us="$CATCHUP_US" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
PG_SECS=$(div "$CATCHUP_US" 1e6 2)
PG_WIRE=$(awk -v b="$WIRE_SENT" -v n="$N" 'BEGIN { printf "%.1f", b / n }')
PG_RSS=$(awk -v k="$APPLY_HWM" 'BEGIN { printf "%.1f", k / 1024 }')
echo "PostgreSQL $PG_VERSION logical replication, $N rows, subscriber down → enabled ($(nproc) cores, load $LOAD_BEFORE before, $LOAD_AFTER after)"
echo "  rows                     ~$ROW_BYTES B/row (avg pg_column_size), ${TEXT_BYTES} B as text, description ${DESC_BYTES} B, all NFC: $NFC; table $((TABLE_BYTES / N)) B/row on disk"
echo "  publisher inserts        $N rows in $(div "$INSERT_US" 1e6 2) s = $(awk -v n="$N" -v us="$INSERT_US" 'BEGIN { printf "%.0f", n / (us / 1e6) }') rows/s ($BATCH rows per transaction)"
echo "  catch-up rows/s          $PG_RATE rows/s ($N rows visible $PG_SECS s after ENABLE SUBSCRIPTION; $POLLS polls, by $POLL)"
echo "  bytes on the wire/row    $PG_WIRE B/row ($WIRE_SENT B, $WIRE_SOURCE, $SSLINFO; $WIRE_RECV B of feedback back); WAL $(awk -v b="$WAL_BYTES" -v n="$N" 'BEGIN { printf "%.1f", b / n }') B/row (pg_wal_lsn_diff)"
echo "  apply worker peak RSS    $PG_RSS MiB (VmHWM; largest samples: $(div "$APPLY_SHMEM" 1024 1) MiB shared memory of shared_buffers=$SHARED_BUFFERS, $(div "$APPLY_ANON" 1024 1) MiB private, $(div "$APPLY_FILE" 1024 1) MiB binary and libraries); $APPLY_CPU CPU-s"
echo "  walsender                peak RSS $(div "$WS_HWM" 1024 1) MiB, $WS_CPU CPU-s"

[[ -n $COMPARE ]] || exit 0

# 4. The same backlog through `iocnode bench catchup`, in the same run.
case $COMPARE in
    */debug/*) echo "WARNING: $COMPARE looks like a debug build: its figures are not a fair comparison" >&2 ;;
esac
echo
echo "$COMPARE bench catchup --entries $N"
# Its working directory goes under ours (TMPDIR), so it is deleted with ours whatever happens.
mkdir -m 700 "$TMP/iocnode-tmp"
TMPDIR=$TMP/iocnode-tmp "$COMPARE" bench catchup --entries "$N" >"$TMP/iocnode.out" 2>&1 &
CMP_PID=$!
CMP_LIMIT=$((TIMEOUT + N / 500 + 120))
CMP_DEADLINE=$((SECONDS + CMP_LIMIT))
while kill -0 "$CMP_PID" 2>/dev/null; do
    ((SECONDS < CMP_DEADLINE)) || { cat "$TMP/iocnode.out" >&2; die "iocnode bench catchup did not finish within $CMP_LIMIT s"; }
    sleep 0.5
done
wait "$CMP_PID" || { cat "$TMP/iocnode.out" >&2; die "iocnode bench catchup failed"; }
CMP_PID=""
sed 's/^/  /' "$TMP/iocnode.out"
OURS=$(cat "$TMP/iocnode.out")
OUR_SECS=$(sed -nE 's/^converged after +([0-9.]+) s.*/\1/p' <<<"$OURS")
OUR_RATE=$(sed -nE 's/^converged after .*= ([0-9]+) entries\/s.*/\1/p' <<<"$OURS")
OUR_WIRE=$(sed -nE 's/^bytes on the wire .*= ([0-9.]+) B\/entry.*/\1/p' <<<"$OURS")
OUR_SEND=$(sed -nE 's/^peak RSS .*ward \(sender\) ([0-9.]+) MiB.*/\1/p' <<<"$OURS")
OUR_RECV=$(sed -nE 's/^peak RSS .*province \(receiver\) ([0-9.]+) MiB.*/\1/p' <<<"$OURS")
OUR_CPU_SEND=$(sed -nE 's/^CPU until converged .*ward \(sender\) ([0-9.]+) s.*/\1/p' <<<"$OURS")
OUR_CPU_RECV=$(sed -nE 's/^CPU until converged .*province \(receiver\) ([0-9.]+) s.*/\1/p' <<<"$OURS")
[[ -n $OUR_RATE && -n $OUR_WIRE && -n $OUR_RECV ]] || die "could not read iocnode's output"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "n/a" }'; }
verdict() { # verdict RATIO OP TARGET [MIN_N]: met / not met, or "not judged" below MIN_N rows
    if ((N < ${4:-0})); then printf 'not judged at this N'; return; fi
    awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN { m = (op == ">=") ? (r >= t) : (r <= t); printf "%s", m ? "met" : "not met" }'
}
R_RATE=$(awk -v a="$OUR_RATE" -v b="$PG_RATE" 'BEGIN { printf "%.3f", a / b }')
R_WIRE=$(awk -v a="$OUR_WIRE" -v b="$PG_WIRE" 'BEGIN { printf "%.3f", a / b }')
R_RSS=$(awk -v a="$OUR_RECV" -v b="$PG_RSS" 'BEGIN { printf "%.3f", a / b }')
echo
printf '%-28s %16s %16s %10s   %s\n' "N = $N, same run" "iocnode" "PostgreSQL" "ours/PG" "issue 7 target"
printf '%-28s %16s %16s %10s   %s\n' "rows/s (catch-up)" "$OUR_RATE" "$PG_RATE" "$(ratio "$OUR_RATE" "$PG_RATE")" \
    "≥ 1.2× at 100k and 1M ($(verdict "$R_RATE" ">=" 1.2 100000))"
printf '%-28s %16s %16s %10s   %s\n' "seconds to converge" "$OUR_SECS" "$PG_SECS" "$(ratio "$OUR_SECS" "$PG_SECS")" \
    "10k within 1 s$( ((N == 10000)) && awk -v s="$OUR_SECS" 'BEGIN { printf " (%s; ours includes process start)", s <= 1 ? "met" : "not met" }')"
printf '%-28s %16s %16s %10s   %s\n' "bytes on the wire per row" "$OUR_WIRE" "$PG_WIRE" "$(ratio "$OUR_WIRE" "$PG_WIRE")" \
    "≤ 0.25× ($(verdict "$R_WIRE" "<=" 0.25))"
printf '%-28s %16s %16s %10s   %s\n' "receiver peak RSS (MiB)" "$OUR_RECV" "$PG_RSS" "$(ratio "$OUR_RECV" "$PG_RSS")" \
    "≤ 0.25× at 1M ($(verdict "$R_RSS" "<=" 0.25 1000000))"
printf '%-28s %16s %16s %10s\n' "  vs apply worker private" "$OUR_RECV" "$(div "$APPLY_ANON" 1024 1)" \
    "$(ratio "$OUR_RECV" "$(div "$APPLY_ANON" 1024 1)")"
if [[ -n $OUR_CPU_RECV && -n $OUR_CPU_SEND ]]; then
    printf '%-28s %16s %16s %10s\n' "receiver CPU-s" "$OUR_CPU_RECV" "$APPLY_CPU" "$(ratio "$OUR_CPU_RECV" "$APPLY_CPU")"
    printf '%-28s %16s %16s %10s\n' "sender CPU-s" "$OUR_CPU_SEND" "$WS_CPU" "$(ratio "$OUR_CPU_SEND" "$WS_CPU")"
fi
printf '%-28s %16s %16s %10s\n' "sender peak RSS (MiB)" "$OUR_SEND" "$(div "$WS_HWM" 1024 1)" "$(ratio "$OUR_SEND" "$(div "$WS_HWM" 1024 1)")"
echo "ours: from the ward's process start (TLS handshake included) until the province holds N entries, after an offline period in which the ward sealed its outbox (as PostgreSQL's WAL is written before ENABLE); signed-bundle bytes without TLS/HTTP framing."
echo "PostgreSQL: from ENABLE SUBSCRIPTION until the N-th row is visible (no process start); TCP payload including TLS; RSS includes shared_buffers pages touched."
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other builds on this machine make every figure noisy)"
