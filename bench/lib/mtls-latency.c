/* Direct, unsigned GET loop over one reused mutual-TLS connection (libcurl, one easy handle): the baseline of
 * bench/proxy.sh. Prints "calls=N calls/s=R p50_us=A p99_us=B new_connections=C".
 * Usage: mtls-latency URL PKI_DIR CALLS   (PKI_DIR holds ca.crt, qwac.crt, qwac.key from scripts/make-test-pki) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t sink(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s URL PKI_DIR CALLS\n", argv[0]); return 2; }
    const char *url = argv[1], *pki = argv[2];
    int calls = atoi(argv[3]);
    char path[1024];
    double *lat = malloc(sizeof(double) * (size_t)calls);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    snprintf(path, sizeof path, "%s/ca.crt", pki); curl_easy_setopt(h, CURLOPT_CAINFO, path);
    snprintf(path, sizeof path, "%s/qwac.crt", pki); curl_easy_setopt(h, CURLOPT_SSLCERT, path);
    snprintf(path, sizeof path, "%s/qwac.key", pki); curl_easy_setopt(h, CURLOPT_SSLKEY, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    for (int i = 0; i < 200; i++) curl_easy_perform(h);
    long fresh = 0, n, status = 0;
    double t0 = now();
    for (int i = 0; i < calls; i++) {
        double s = now();
        if (curl_easy_perform(h) != CURLE_OK) { fprintf(stderr, "call %d failed\n", i); return 1; }
        lat[i] = now() - s;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) { fprintf(stderr, "call %d: status %ld\n", i, status); return 1; }
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n); fresh += n;
    }
    double t1 = now();
    qsort(lat, (size_t)calls, sizeof(double), cmp);
    printf("calls=%d calls/s=%.0f p50_us=%.0f p99_us=%.0f new_connections=%ld\n", calls, calls / (t1 - t0),
           lat[calls / 2] * 1e6, lat[(size_t)calls * 99 / 100] * 1e6, fresh);
    curl_slist_free_all(headers); curl_easy_cleanup(h); curl_global_cleanup(); free(lat);
    return 0;
}
