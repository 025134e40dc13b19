# shellcheck shell=bash
# A minimal mutual-TLS "bank" for the benchmarks: Debian nginx, one worker, TLS with `ssl_verify_client on`
# against the test CA, keep-alive, fixed answers given as nginx `location` blocks. Sourced by bench/outbound.sh
# and bench/proxy.sh.
#
# bench_nginx_bank_start DIR PKI PORT LOCATIONS — writes DIR/nginx.conf, starts nginx in the background (its pid in
# NGINX_PID) and waits until it answers a client-certificate call on PORT. LOCATIONS: the server's location blocks.
bench_nginx_bank_start() {
    local dir=$1 pki=$2 port=$3 locations=$4
    local nginx
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    mkdir -p "$dir/logs"
    cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port ssl;
        server_name localhost;
        ssl_certificate $pki/server.crt;
        ssl_certificate_key $pki/server.key;
        ssl_client_certificate $pki/ca.crt;
        ssl_verify_client on;
        ssl_protocols TLSv1.2 TLSv1.3;
$locations
    }
}
CONF
    "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" &
    NGINX_PID=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null --cacert "$pki/ca.crt" --cert "$pki/qwac.crt" --key "$pki/qwac.key" \
            "https://localhost:$port/" && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: the nginx bank does not answer (see $dir/logs/error.log)" >&2
    return 1
}
