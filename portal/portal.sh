#!/usr/bin/env bash
# portal.sh - a local, real CKAN portal on one machine, without Docker:
# PostgreSQL (private cluster), Redis, Solr 9 (embedded Jetty) and CKAN (gunicorn).
#
#   portal/portal.sh start            install what is missing, start everything, print env lines
#   portal/portal.sh env [--sysadmin] print the export lines (CKAN_URL, CKAN_API_TOKEN[, CKAN_SYSADMIN_TOKEN])
#   portal/portal.sh status           which services run (exit 0 only if all do)
#   portal/portal.sh stop             stop what this script started (by PID files), check ports are free
#   portal/portal.sh reset            stop, then wipe the state folder
#
# Progress goes to stderr; `start` and `env` print only the export lines on stdout,
# so `eval "$(portal/portal.sh start)"` works. See portal/README.md.
set -Eeuo pipefail

PORTAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$PORTAL_DIR/.." && pwd)"

STATE="${PORTAL_STATE:-.portal}"
[[ "$STATE" = /* ]] || STATE="$REPO/$STATE"

CKAN_VERSION="${CKAN_VERSION:-2.12.0}"
SOLR_VERSION="${SOLR_VERSION:-9.10.1}"
GUNICORN_VERSION="${GUNICORN_VERSION:-23.0.0}"
CKANEXT_DCAT_VERSION="${CKANEXT_DCAT_VERSION:-2.4.4}"
CKAN_PORT="${CKAN_PORT:-5000}"
SOLR_PORT="${SOLR_PORT:-8983}"
PG_PORT="${PG_PORT:-54329}"
REDIS_PORT="${REDIS_PORT:-63799}"
CKAN_WORKERS="${CKAN_WORKERS:-2}"
CKAN_THREADS="${CKAN_THREADS:-4}"
CKAN_MAX_RESOURCE_MB="${CKAN_MAX_RESOURCE_MB:-2048}"
SOLR_HEAP="${SOLR_HEAP:-512m}"
PORTAL_PYTHON="${PORTAL_PYTHON:-/usr/bin/python3}"
CACHE_ROOT="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/dikl-portal"
CKAN_VENV="${CKAN_VENV:-$CACHE_ROOT/ckan-$CKAN_VERSION}"
SOLR_LIB="$CACHE_ROOT/solr-$SOLR_VERSION/lib"

ORG_NAME="digital-interkommunal"
ORG_TITLE="digital.interkommunal Kalletal.Lemgo"
PUBLISHER_NAME="digital.interkommunal Kalletal.Lemgo (Alte Hansestadt Lemgo und Gemeinde Kalletal)"
# Facts from https://digital-interkommunal.de/wissenswertes/ (the project's own page).
ORG_DESCRIPTION="Gemeinsames Smart City-Projekt der Alten Hansestadt Lemgo und der Gemeinde Kalletal, seit 2021 \
gefördert im Bundesprogramm „Modellprojekte Smart Cities: Stadtentwicklung und Digitalisierung“. \
Quelle: https://digital-interkommunal.de/wissenswertes/"
ADMIN_USER="admin"
EDITOR_USER="steward"

LOGS="$STATE/logs"
PIDS="$STATE/pids"
PGDATA="$STATE/pg/data"
PG_SOCK="$STATE/pg/run"
SOLR_HOME="$STATE/solr"
CKAN_DIR="$STATE/ckan"
CKAN_INI="$CKAN_DIR/ckan.ini"
export CKAN_INI
SERVICES=(postgres redis solr ckan)

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '[portal +%ss] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[portal] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

# Services started by this invocation, so a failure can undo them.
STARTED=()

on_error() {
    local rc=$? line=$1
    trap - ERR
    say "unexpected failure (exit $rc) at portal.sh line $line"
    undo_started
    exit "$rc"
}

undo_started() {
    local i
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        say "stopping ${STARTED[i]} (started by this run)"
        stop_service "${STARTED[i]}" || true
    done
    STARTED=()
}

# service_failed NAME LOGFILE MESSAGE: report, undo this run, exit non-zero.
service_failed() {
    local name=$1 log=$2 msg=$3
    trap - ERR
    printf '[portal] ERROR: %s failed to start: %s\n' "$name" "$msg" >&2
    printf '[portal] log: %s (last 30 lines follow)\n' "$log" >&2
    if [[ -f "$log" ]]; then tail -n 30 "$log" | sed 's/^/    /' >&2; fi
    undo_started
    exit 1
}

# alive PID: the process exists and is not a zombie.
alive() {
    local pid=$1 st
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/stat" ]] || return 1
    st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ "$st" != Z && "$st" != X ]]
}

# cmdline_has PID WORD: guards against a recycled PID before we signal it.
cmdline_has() {
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

pidfile_of() { echo "$PIDS/$1.pid"; }

# Expected word in each service's command line (a PID-reuse check, never used to find processes).
expect_of() {
    case $1 in
        postgres) echo "postgres" ;;
        redis) echo "redis-server" ;;
        solr) echo "Launcher.java" ;;
        ckan) echo "gunicorn" ;;
    esac
}

# service_pid NAME: prints the recorded PID if that process is alive and ours.
service_pid() {
    local name=$1 f pid
    f=$(pidfile_of "$name")
    if [[ $name == postgres && -f "$PGDATA/postmaster.pid" ]]; then
        f="$PGDATA/postmaster.pid"
    fi
    [[ -f "$f" ]] || return 1
    pid=$(head -n 1 "$f" | tr -dc '0-9')
    alive "$pid" && cmdline_has "$pid" "$(expect_of "$name")" || return 1
    echo "$pid"
}

port_of() {
    case $1 in
        postgres) echo "$PG_PORT" ;;
        redis) echo "$REDIS_PORT" ;;
        solr) echo "$SOLR_PORT" ;;
        ckan) echo "$CKAN_PORT" ;;
    esac
}

log_of() { echo "$LOGS/$1.log"; }

listening() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

as_postgres() {
    if command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        local q
        q=$(printf '%q ' "$@")
        su -s /bin/sh postgres -c "$q"
    fi
}

pg_bindir() {
    local d
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

healthy() {
    case $1 in
        postgres) "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" ;;
        redis) [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ;;
        solr) http_ok "http://127.0.0.1:$SOLR_PORT/solr/ckan/select?q=*:*&rows=0" ;;
        ckan) http_ok "http://127.0.0.1:$CKAN_PORT/api/3/action/status_show" ;;
    esac
}

# wait_ready NAME PID TIMEOUT_S
wait_ready() {
    local name=$1 pid=$2 timeout=$3 t0=$SECONDS
    while ((SECONDS - t0 < timeout)); do
        if healthy "$name"; then return 0; fi
        if [[ -n "$pid" ]] && ! alive "$pid"; then
            service_failed "$name" "$(log_of "$name")" "process $pid exited"
        fi
        sleep 0.3
    done
    service_failed "$name" "$(log_of "$name")" "not ready after ${timeout}s"
}

# Ports are recorded at start so that stop/status check the ones actually used.
load_recorded_ports() {
    if [[ -f "$STATE/ports.env" ]]; then
        # shellcheck disable=SC1091
        source "$STATE/ports.env"
    fi
}

write_ports() {
    cat > "$STATE/ports.env" <<EOF
CKAN_PORT=$CKAN_PORT
SOLR_PORT=$SOLR_PORT
PG_PORT=$PG_PORT
REDIS_PORT=$REDIS_PORT
EOF
}

random_secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ---------------------------------------------------------------- installation

install_system_packages() {
    local missing=()
    have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
    [[ -n "$(pg_bindir)" ]] || missing+=(postgresql)
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
    have_pkg libpq-dev || missing+=(libpq-dev)
    have_pkg libmagic1 || missing+=(libmagic1)
    { command -v gcc && command -v make; } >/dev/null 2>&1 || missing+=(build-essential)
    if [[ "$PORTAL_PYTHON" == /usr/bin/python3* ]]; then
        [[ -x "$PORTAL_PYTHON" ]] || missing+=(python3)
        have_pkg python3-dev || missing+=(python3-dev)
        have_pkg python3-venv || missing+=(python3-venv)
    fi
    command -v mvn >/dev/null || missing+=(maven)
    if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])' ||
        ! java --list-modules 2>/dev/null | grep -q '^jdk.compiler'; then
        missing+=(openjdk-17-jdk-headless)
    fi
    command -v curl >/dev/null || missing+=(curl)
    # headless Chromium for the browser test of the portal's pages (tests/integration/test_browser.py)
    command -v chromium >/dev/null || missing+=(chromium)
    have_pkg ca-certificates || missing+=(ca-certificates)
    command -v runuser >/dev/null || command -v su >/dev/null || missing+=(util-linux)
    ((${#missing[@]})) || return 0

    [[ $(id -u) -eq 0 ]] || die "missing system packages (${missing[*]}); run as root or install them"
    say "installing system packages: ${missing[*]}"
    mkdir -p "$LOGS"
    # Keep the packages' own services (system postgresql, redis on 6379) from starting.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
    fi
    local rc=0
    {
        apt-get update -q &&
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    } >> "$LOGS/install.log" 2>&1 < /dev/null || rc=$?
    ((made_policy)) && rm -f "$policy"
    if ((rc)); then
        tail -n 30 "$LOGS/install.log" >&2
        die "apt-get failed (log: $LOGS/install.log)"
    fi
}

install_solr_jars() {
    [[ -f "$SOLR_LIB/.complete" ]] && return 0
    say "fetching Solr $SOLR_VERSION jars with Maven (into $SOLR_LIB)"
    local tmp="$SOLR_LIB.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp" "$LOGS"
    if ! mvn -B -q -f "$PORTAL_DIR/solr/pom.xml" -Dsolr.version="$SOLR_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >> "$LOGS/install.log" 2>&1 < /dev/null; then
        rm -rf "$tmp"
        tail -n 30 "$LOGS/install.log" >&2
        die "mvn could not fetch the Solr jars (log: $LOGS/install.log)"
    fi
    rm -rf "$SOLR_LIB"
    mv "$tmp" "$SOLR_LIB"
    touch "$SOLR_LIB/.complete"
}

install_ckan() {
    [[ -f "$CKAN_VENV/.portal-complete" ]] && return 0
    say "installing CKAN $CKAN_VERSION from PyPI into its own venv $CKAN_VENV"
    mkdir -p "$LOGS" "$(dirname "$CKAN_VENV")"
    if ! {
        "$PORTAL_PYTHON" -m venv "$CKAN_VENV" &&
            "$CKAN_VENV/bin/pip" install -q --upgrade pip wheel setuptools &&
            "$CKAN_VENV/bin/pip" install -q "ckan[requirements]==$CKAN_VERSION" "gunicorn==$GUNICORN_VERSION"
    } >> "$LOGS/install.log" 2>&1 < /dev/null; then
        tail -n 30 "$LOGS/install.log" >&2
        die "pip could not install CKAN $CKAN_VERSION (log: $LOGS/install.log)"
    fi
    touch "$CKAN_VENV/.portal-complete"
}

# ckanext-dcat (DCAT endpoints) and our DCAT-AP.de profile (portal/ckanext-dcatde_lite, with the
# repository's dcat_ap_de package copied in): reinstalled whenever their sources change.
install_dcat() {
    local plugin="$PORTAL_DIR/ckanext-dcatde_lite" want have="" stage
    want=$( (echo "ckanext-dcat==$CKANEXT_DCAT_VERSION" &&
        cd "$REPO" && find portal/ckanext-dcatde_lite dcat_ap_de -type f \( -name '*.py' -o -name '*.ttl' -o -name '*.toml' \) \
        -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-64)
    [[ -f "$CKAN_VENV/.dcatde-lite.sha256" ]] && have=$(cat "$CKAN_VENV/.dcatde-lite.sha256")
    [[ "$want" == "$have" ]] && return 0
    say "installing ckanext-dcat $CKANEXT_DCAT_VERSION and the DCAT-AP.de profile (ckanext-dcatde_lite) into $CKAN_VENV"
    stage=$(mktemp -d)
    cp -r "$plugin/." "$stage/"
    cp -r "$REPO/dcat_ap_de" "$stage/dcat_ap_de"
    find "$stage" -name __pycache__ -prune -exec rm -rf {} +
    if ! "$CKAN_VENV/bin/pip" install -q "ckanext-dcat==$CKANEXT_DCAT_VERSION" "$stage" \
        >> "$LOGS/install.log" 2>&1 < /dev/null; then
        rm -rf "$stage"
        tail -n 30 "$LOGS/install.log" >&2
        die "pip could not install ckanext-dcat / ckanext-dcatde_lite (log: $LOGS/install.log)"
    fi
    rm -rf "$stage"
    echo "$want" > "$CKAN_VENV/.dcatde-lite.sha256"
}

# ---------------------------------------------------------------- state folder

init_state() {
    if [[ -d "$STATE" && ! -f "$STATE/.portal-state" ]] && [[ -n "$(ls -A "$STATE")" ]]; then
        die "$STATE exists, is not empty and is not a portal state folder; set PORTAL_STATE"
    fi
    mkdir -p "$STATE" "$LOGS" "$PIDS" "$CKAN_DIR" "$STATE/storage" "$STATE/redis"
    touch "$STATE/.portal-state"
    # The state folder ignores itself, wherever it lives in a work tree.
    [[ -f "$STATE/.gitignore" ]] || echo '*' > "$STATE/.gitignore"
    if [[ -f "$STATE/ckan-version" ]]; then
        local have
        have=$(cat "$STATE/ckan-version")
        [[ "$have" == "$CKAN_VERSION" ]] ||
            die "state $STATE belongs to CKAN $have, not $CKAN_VERSION: use 'reset' or another PORTAL_STATE"
    else
        echo "$CKAN_VERSION" > "$STATE/ckan-version"
    fi
    if [[ ! -f "$STATE/secrets.env" ]]; then
        umask 077
        cat > "$STATE/secrets.env" <<EOF
PG_WRITER_PASSWORD=$(random_secret)
PG_READER_PASSWORD=$(random_secret)
ADMIN_PASSWORD=$(random_secret)
EDITOR_PASSWORD=$(random_secret)
EOF
        umask 022
    fi
    # shellcheck disable=SC1091
    source "$STATE/secrets.env"
}

# ---------------------------------------------------------------- services

start_postgres() {
    local bin log
    bin=$(pg_bindir)
    log=$(log_of postgres)
    mkdir -p "$STATE/pg"
    chown postgres:postgres "$STATE/pg"
    if ! as_postgres test -w "$STATE/pg"; then
        die "user postgres cannot reach $STATE/pg (a parent folder is not traversable); set PORTAL_STATE elsewhere"
    fi
    touch "$log" && chown postgres:postgres "$log"
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        say "postgres: initdb $PGDATA"
        rm -rf "$PGDATA"
        as_postgres "$bin/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >> "$log" 2>&1 < /dev/null ||
            service_failed postgres "$log" "initdb failed"
    fi
    as_postgres mkdir -p "$PG_SOCK"
    say "postgres: starting on 127.0.0.1:$PG_PORT"
    STARTED+=(postgres)
    # shellcheck disable=SC2094  # pg_ctl's -l and our >> both only append to the log
    as_postgres "$bin/pg_ctl" -D "$PGDATA" -l "$log" -w -t 60 -s \
        -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start < /dev/null >> "$log" 2>&1 || service_failed postgres "$log" "pg_ctl start failed"
    head -n 1 "$PGDATA/postmaster.pid" > "$(pidfile_of postgres)"
    wait_ready postgres "" 30
    # Roles and databases (idempotent).
    "$bin/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
        >> "$log" 2>&1 < /dev/null <<SQL || service_failed postgres "$log" "creating roles/databases failed"
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ckan_writer') THEN
    CREATE ROLE ckan_writer LOGIN PASSWORD '$PG_WRITER_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastore_ro') THEN
    CREATE ROLE datastore_ro LOGIN PASSWORD '$PG_READER_PASSWORD';
  END IF;
END\$\$;
SELECT 'CREATE DATABASE ckan OWNER ckan_writer ENCODING ''UTF8'' TEMPLATE template0'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ckan')\gexec
SELECT 'CREATE DATABASE datastore OWNER ckan_writer ENCODING ''UTF8'' TEMPLATE template0'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'datastore')\gexec
SQL
}

start_redis() {
    local log pid
    log=$(log_of redis)
    say "redis: starting on 127.0.0.1:$REDIS_PORT"
    STARTED+=(redis)
    rm -f "$(pidfile_of redis)"
    # shellcheck disable=SC2094  # redis --logfile and our >> both only append to the log
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --pidfile "$(pidfile_of redis)" --logfile "$log" --dir "$STATE/redis" \
        --save '' --appendonly no < /dev/null >> "$log" 2>&1 ||
        service_failed redis "$log" "redis-server exited with an error"
    local t0=$SECONDS
    until [[ -s "$(pidfile_of redis)" ]]; do
        ((SECONDS - t0 < 10)) || service_failed redis "$log" "no pidfile written"
        sleep 0.1
    done
    pid=$(cat "$(pidfile_of redis)")
    wait_ready redis "$pid" 30
}

prepare_solr_home() {
    local found=("$CKAN_VENV"/lib/python*/site-packages/ckan/config/solr/schema.xml)
    local schema=${found[0]}
    [[ -f "$schema" ]] || die "CKAN's Solr schema not found in $CKAN_VENV"
    mkdir -p "$SOLR_HOME/ckan/conf"
    cp "$PORTAL_DIR/solr/solr.xml" "$SOLR_HOME/solr.xml"
    echo "name=ckan" > "$SOLR_HOME/ckan/core.properties"
    cp "$PORTAL_DIR/solr/conf/solrconfig.xml" "$SOLR_HOME/ckan/conf/solrconfig.xml"
    cp "$schema" "$SOLR_HOME/ckan/conf/managed-schema.xml"
    local f
    for f in synonyms.txt protwords.txt stopwords.txt; do
        [[ -f "$SOLR_HOME/ckan/conf/$f" ]] || : > "$SOLR_HOME/ckan/conf/$f"
    done
}

start_solr() {
    local log pid
    log=$(log_of solr)
    prepare_solr_home
    say "solr: starting Solr $SOLR_VERSION on 127.0.0.1:$SOLR_PORT"
    echo "=== $(date -Is) start" >> "$log"
    STARTED+=(solr)
    (
        cd "$SOLR_HOME"
        exec setsid nohup java -Xms64m -Xmx"$SOLR_HEAP" -XX:+UseSerialGC \
            -Dsolr.log.dir="$LOGS" -Dsolr.install.dir="$SOLR_HOME" \
            -Dlog4j2.configurationFile="$PORTAL_DIR/solr/log4j2.xml" \
            -cp "$SOLR_LIB/*" "$PORTAL_DIR/solr/Launcher.java" "$SOLR_HOME" "$SOLR_PORT"
    ) >> "$log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$(pidfile_of solr)"
    wait_ready solr "$pid" 120
}

ckan_cli() { "$CKAN_VENV/bin/ckan" -c "$CKAN_INI" "$@" < /dev/null; }

configure_ckan() {
    local log
    log=$(log_of ckan-setup)
    echo "=== $(date -Is) configure" >> "$log"
    if [[ ! -f "$CKAN_INI" ]]; then
        say "ckan: generating $CKAN_INI"
        "$CKAN_VENV/bin/ckan" generate config "$CKAN_INI" < /dev/null >> "$log" 2>&1 ||
            service_failed ckan "$log" "ckan generate config failed"
    fi
    local pg="127.0.0.1:$PG_PORT"
    local settings=(
        "sqlalchemy.url=postgresql://ckan_writer:$PG_WRITER_PASSWORD@$pg/ckan"
        "ckan.datastore.write_url=postgresql://ckan_writer:$PG_WRITER_PASSWORD@$pg/datastore"
        "ckan.datastore.read_url=postgresql://datastore_ro:$PG_READER_PASSWORD@$pg/datastore"
        "ckan.plugins=activity datastore datatables_view image_view dcat"
        "solr_url=http://127.0.0.1:$SOLR_PORT/solr/ckan"
        "ckan.redis.url=redis://127.0.0.1:$REDIS_PORT/0"
        "ckan.site_url=http://127.0.0.1:$CKAN_PORT"
        "ckan.site_title=digital.interkommunal (local portal)"
        "ckan.site_description=Offene Daten des Smart City-Modellprojekts digital.interkommunal Kalletal.Lemgo (lokales Portal)"
        # German first, English offered (as a municipality's portal would show it)
        "ckan.locale_default=de"
        "ckan.locales_offered=de en"
        # DCAT: /catalog.{ttl,rdf,jsonld}, /dataset/<name>.{ttl,rdf,jsonld} in DCAT-AP.de 2.0
        "ckanext.dcat.rdf.profiles=dcatap_de_lite"
        "ckanext.dcat.base_uri=http://127.0.0.1:$CKAN_PORT"
        "ckanext.dcatde_lite.publisher_name=$PUBLISHER_NAME"
        "ckanext.dcatde_lite.publisher_url=https://digital-interkommunal.de/"
        "ckanext.dcatde_lite.publisher_type=http://purl.org/adms/publishertype/LocalAuthority"
        "ckan.storage_path=$STATE/storage"
        "ckan.max_resource_size=$CKAN_MAX_RESOURCE_MB"
        "licenses_group_url=file://$PORTAL_DIR/licenses.json"
        # index the resource field the publisher matches resources by (res_extras_datapackage_resource)
        "ckan.extra_resource_fields=datapackage_resource"
    )
    local want have=""
    want=$(printf '%s\n' "${settings[@]}" | sha256sum | cut -c1-64)
    [[ -f "$CKAN_DIR/config.sha256" ]] && have=$(cat "$CKAN_DIR/config.sha256")
    if [[ "$want" != "$have" ]]; then
        say "ckan: writing settings into $CKAN_INI"
        # (no -c here: the CLI only skips loading the app when config-tool is argv[1])
        "$CKAN_VENV/bin/ckan" config-tool "$CKAN_INI" "${settings[@]}" < /dev/null >> "$log" 2>&1 ||
            service_failed ckan "$log" "ckan config-tool failed"
        echo "$want" > "$CKAN_DIR/config.sha256"
    fi
    if [[ ! -f "$CKAN_DIR/db.done" ]]; then
        say "ckan: db init and DataStore permissions"
        ckan_cli db init >> "$log" 2>&1 || service_failed ckan "$log" "ckan db init failed"
        ckan_cli datastore set-permissions 2>> "$log" |
            "$(pg_bindir)/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -q \
                -v ON_ERROR_STOP=1 >> "$log" 2>&1 ||
            service_failed ckan "$log" "datastore set-permissions failed"
        touch "$CKAN_DIR/db.done"
    fi
}

start_ckan() {
    local log pid
    log=$(log_of ckan)
    say "ckan: starting CKAN $CKAN_VERSION (gunicorn, $CKAN_WORKERS workers x $CKAN_THREADS threads) on 127.0.0.1:$CKAN_PORT"
    echo "=== $(date -Is) start" >> "$log"
    STARTED+=(ckan)
    (
        cd "$CKAN_DIR"
        exec setsid nohup "$CKAN_VENV/bin/gunicorn" \
            --bind "127.0.0.1:$CKAN_PORT" --workers "$CKAN_WORKERS" --threads "$CKAN_THREADS" \
            --worker-class gthread --timeout 600 --graceful-timeout 10 \
            --pythonpath "$PORTAL_DIR" --error-logfile - \
            ckan_wsgi:application
    ) >> "$log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$(pidfile_of ckan)"
    wait_ready ckan "$pid" 180
}

# First start only: users, organization, membership, tokens.
bootstrap_ckan() {
    local log tokdir="$STATE/tokens"
    log=$(log_of ckan-setup)
    mkdir -p "$tokdir"
    chmod 700 "$tokdir"
    if [[ ! -s "$tokdir/sysadmin.token" ]]; then
        say "ckan: creating sysadmin '$ADMIN_USER' and its API token"
        if ! ckan_cli user show "$ADMIN_USER" 2>/dev/null | grep -q "name=$ADMIN_USER"; then
            ckan_cli user add "$ADMIN_USER" "email=$ADMIN_USER@example.org" \
                "password=$ADMIN_PASSWORD" >> "$log" 2>&1 ||
                service_failed ckan "$log" "creating user $ADMIN_USER failed"
        fi
        ckan_cli sysadmin add "$ADMIN_USER" >> "$log" 2>&1 ||
            service_failed ckan "$log" "making $ADMIN_USER a sysadmin failed"
        local tok
        tok=$(ckan_cli user token add "$ADMIN_USER" portal-sysadmin 2>> "$log" | tail -n 1 | tr -d '[:space:]')
        [[ -n "$tok" ]] || service_failed ckan "$log" "no API token for $ADMIN_USER"
        (umask 077 && echo "$tok" > "$tokdir/sysadmin.token")
    fi
    if [[ ! -s "$tokdir/editor.token" ]]; then
        say "ckan: creating organization '$ORG_NAME', editor '$EDITOR_USER' and its API token"
        local tok
        tok=$(CKAN_SYSADMIN_TOKEN="$(cat "$tokdir/sysadmin.token")" \
            PORTAL_EDITOR_PASSWORD="$EDITOR_PASSWORD" \
            "$CKAN_VENV/bin/python" "$PORTAL_DIR/bootstrap.py" \
            --url "http://127.0.0.1:$CKAN_PORT" --org "$ORG_NAME" --org-title "$ORG_TITLE" \
            --org-description "$ORG_DESCRIPTION" --user "$EDITOR_USER" --email "$EDITOR_USER@example.org" --token-name portal-editor \
            2>> "$log" < /dev/null) || service_failed ckan "$log" "bootstrap.py failed"
        [[ -n "$tok" ]] || service_failed ckan "$log" "no API token for $EDITOR_USER"
        (umask 077 && echo "$tok" > "$tokdir/editor.token")
    fi
    # The organization's title and description, brought up to date when they change here.
    local org_want org_have=""
    org_want=$(printf '%s\n' "$ORG_TITLE" "$ORG_DESCRIPTION" | sha256sum | cut -c1-64)
    [[ -f "$CKAN_DIR/org.sha256" ]] && org_have=$(cat "$CKAN_DIR/org.sha256")
    if [[ "$org_want" != "$org_have" ]]; then
        CKAN_SYSADMIN_TOKEN="$(cat "$tokdir/sysadmin.token")" "$CKAN_VENV/bin/python" "$PORTAL_DIR/bootstrap.py" \
            --url "http://127.0.0.1:$CKAN_PORT" --org "$ORG_NAME" --org-title "$ORG_TITLE" \
            --org-description "$ORG_DESCRIPTION" --org-only >> "$log" 2>&1 < /dev/null ||
            service_failed ckan "$log" "updating organization $ORG_NAME failed"
        echo "$org_want" > "$CKAN_DIR/org.sha256"
    fi
    write_env_files
}

write_env_files() {
    local tokdir="$STATE/tokens"
    [[ -s "$tokdir/editor.token" && -s "$tokdir/sysadmin.token" ]] || return 1
    (
        umask 077
        printf 'export CKAN_URL=%s\nexport CKAN_API_TOKEN=%s\n' \
            "http://127.0.0.1:$CKAN_PORT" "$(cat "$tokdir/editor.token")" > "$STATE/env.sh"
        printf 'export CKAN_SYSADMIN_TOKEN=%s\n' "$(cat "$tokdir/sysadmin.token")" > "$STATE/sysadmin.env"
    )
}

# ---------------------------------------------------------------- stopping

# stop_service NAME: by recorded PID only; waits until the process is gone.
stop_service() {
    local name=$1 pid f
    f=$(pidfile_of "$name")
    if ! pid=$(service_pid "$name"); then
        rm -f "$f"
        return 0
    fi
    say "$name: stopping (pid $pid)"
    if [[ $name == postgres ]]; then
        as_postgres "$(pg_bindir)/pg_ctl" -D "$PGDATA" -m fast -w -t 30 -s stop < /dev/null >&2 || true
    else
        kill -TERM "$pid" 2>/dev/null || true
    fi
    local t0=$SECONDS
    while alive "$pid" && ((SECONDS - t0 < 30)); do sleep 0.2; done
    if alive "$pid"; then
        say "$name: still running after 30 s, sending KILL to pid $pid"
        if [[ $name == solr || $name == ckan ]]; then
            # started with setsid: the recorded PID leads its own process group
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        else
            kill -KILL "$pid" 2>/dev/null || true
        fi
        t0=$SECONDS
        while alive "$pid" && ((SECONDS - t0 < 10)); do sleep 0.2; done
    fi
    alive "$pid" && { say "$name: pid $pid does not stop"; return 1; }
    # gunicorn workers leave with their master; give them a moment to go
    if [[ $name == ckan ]]; then
        t0=$SECONDS
        while listening "$CKAN_PORT" && ((SECONDS - t0 < 15)); do sleep 0.2; done
    fi
    rm -f "$f"
    return 0
}

cmd_stop() {
    load_recorded_ports
    local rc=0 i name
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        stop_service "${SERVICES[i]}" || rc=1
    done
    for name in "${SERVICES[@]}"; do
        if listening "$(port_of "$name")"; then
            say "port $(port_of "$name") ($name) is still in use"
            rc=1
        fi
    done
    if ((rc == 0)); then say "stopped; nothing listens on ports $CKAN_PORT $SOLR_PORT $PG_PORT $REDIS_PORT"; fi
    return "$rc"
}

# ---------------------------------------------------------------- commands

all_running() {
    local name pid
    for name in "${SERVICES[@]}"; do
        pid=$(service_pid "$name") || return 1
        healthy "$name" || return 1
    done
    [[ -s "$STATE/tokens/editor.token" && -s "$STATE/tokens/sysadmin.token" ]]
}

print_env() {
    [[ -f "$STATE/env.sh" ]] || die "no $STATE/env.sh yet: run 'portal.sh start'"
    cat "$STATE/env.sh"
    if [[ "${1:-}" == --sysadmin ]]; then cat "$STATE/sysadmin.env"; fi
}

cmd_start() {
    trap 'on_error $LINENO' ERR
    if [[ -f "$STATE/ports.env" ]]; then
        # Already running services keep the ports they were started with.
        local any=0 name
        for name in "${SERVICES[@]}"; do service_pid "$name" >/dev/null && any=1; done
        if ((any)); then
            local want="$CKAN_PORT $SOLR_PORT $PG_PORT $REDIS_PORT"
            load_recorded_ports
            [[ "$want" == "$CKAN_PORT $SOLR_PORT $PG_PORT $REDIS_PORT" ]] ||
                die "the portal runs with other ports ($CKAN_PORT $SOLR_PORT $PG_PORT $REDIS_PORT); stop it first"
        fi
    fi
    if [[ -f "$STATE/.portal-state" ]] && all_running; then
        write_env_files
        say "already running and healthy (CKAN $CKAN_VERSION at http://127.0.0.1:$CKAN_PORT)"
        print_env
        return 0
    fi
    local t0=$SECONDS
    init_state
    install_system_packages
    install_solr_jars
    install_ckan
    install_dcat
    write_ports

    local name
    for name in "${SERVICES[@]}"; do
        if service_pid "$name" >/dev/null && healthy "$name"; then
            say "$name: already running"
            continue
        fi
        # a dead or unhealthy one of ours: clear it first
        stop_service "$name"
        if listening "$(port_of "$name")"; then
            service_failed "$name" "$(log_of "$name")" \
                "port $(port_of "$name") is already in use by another process (set ${name^^}_PORT)"
        fi
        case $name in
            postgres) start_postgres ;;
            redis) start_redis ;;
            solr) start_solr ;;
            ckan) configure_ckan && start_ckan ;;
        esac
    done
    bootstrap_ckan
    trap - ERR
    say "ready in $((SECONDS - t0)) s: CKAN $CKAN_VERSION at http://127.0.0.1:$CKAN_PORT (state: $STATE)"
    say "env: $STATE/env.sh (editor '$EDITOR_USER'), $STATE/sysadmin.env (sysadmin '$ADMIN_USER')"
    print_env
}

cmd_status() {
    load_recorded_ports
    local name pid rc=0 state
    for name in "${SERVICES[@]}"; do
        if pid=$(service_pid "$name"); then
            if healthy "$name"; then state="running"; else state="running (not answering)"; rc=3; fi
            printf '%-9s %-24s pid %-8s port %s\n' "$name" "$state" "$pid" "$(port_of "$name")"
        else
            printf '%-9s %-24s %-12s port %s\n' "$name" "stopped" "" "$(port_of "$name")"
            rc=3
        fi
    done
    if pid=$(service_pid ckan) && healthy ckan; then
        printf 'CKAN at http://127.0.0.1:%s (%s), state %s\n' "$CKAN_PORT" \
            "$(curl -fsS --max-time 5 "http://127.0.0.1:$CKAN_PORT/api/3/action/status_show" |
                sed -nE 's/.*"ckan_version": *"([^"]*)".*/CKAN \1/p')" "$STATE"
    fi
    return "$rc"
}

cmd_reset() {
    if [[ -d "$STATE" ]]; then
        if [[ ! -f "$STATE/.portal-state" && -n "$(ls -A "$STATE")" ]]; then
            die "$STATE is not a portal state folder; not wiping it"
        fi
        case "$STATE" in /|"$REPO"|"${HOME:-/root}") die "refusing to wipe $STATE" ;; esac
        cmd_stop || die "stop failed; not wiping $STATE"
        say "wiping $STATE"
        rm -rf "$STATE"
    else
        say "nothing to reset ($STATE does not exist)"
    fi
}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    env) load_recorded_ports && print_env "${2:-}" ;;
    *) usage ;;
esac
