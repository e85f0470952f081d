/* test_verdict.c - host status and domain verdict over the whole scenario
 * catalogue: each scenario's DNS facts and address results go in, the
 * catalogue's host statuses and verdict must come out. */
#include "check.h"
#include "model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static model_dnssec_t dnssec_of(const char *name)
{
    static const char *const names[] = {"secure", "insecure", "bogus", "indeterminate"};
    for (int i = 0; i < 4; i++)
        if (name != NULL && strcmp(name, names[i]) == 0)
            return (model_dnssec_t)i;
    return MODEL_DNSSEC_INDETERMINATE;
}

/* The facts a scan would have gathered for one expected host. */
static void host_from_json(model_host_t *h, json_t *jh)
{
    json_t *tlsa = json_object_get(jh, "tlsa");
    json_t *addrs = json_object_get(jh, "addresses");
    const char *key;
    json_t *value;
    size_t i = 0;

    memset(h, 0, sizeof(*h));
    h->name = strdup(json_string_value(json_object_get(jh, "host")));
    h->dnssec = dnssec_of(json_string_value(json_object_get(jh, "dnssec")));
    if (tlsa != NULL) {
        size_t usable = json_integer_value(json_object_get(tlsa, "usable"));
        size_t unusable = json_integer_value(json_object_get(tlsa, "unusable"));
        h->tlsa.looked_up = true;
        h->tlsa.dnssec = dnssec_of(json_string_value(json_object_get(tlsa, "dnssec")));
        h->tlsa.n_records = usable + unusable;
        h->tlsa.records = calloc(h->tlsa.n_records + 1, sizeof(*h->tlsa.records));
        for (size_t r = 0; r < usable; r++)
            h->tlsa.records[r].usable = true;
    }
    h->n_addresses = json_object_size(addrs);
    if (json_object_get(jh, "any_address") != NULL)
        h->n_addresses = json_integer_value(json_object_get(jh, "address_count"));
    h->addresses = calloc(h->n_addresses + 1, sizeof(*h->addresses));
    json_object_foreach(addrs, key, value) {
        const char *result = json_string_value(json_object_get(value, "result"));
        h->addresses[i].address = strdup(key);
        h->addresses[i++].result = (model_addr_result_t)model_addr_result_from_name(result);
    }
    for (; i < h->n_addresses; i++) {
        json_t *any = json_object_get(jh, "any_address");
        h->addresses[i].result = (model_addr_result_t)model_addr_result_from_name(
            json_string_value(json_object_get(any, "result")));
    }
}

static model_domain_t *domain_from_json(json_t *scenario)
{
    json_t *expect = json_object_get(scenario, "expect");
    json_t *hosts = json_object_get(expect, "hosts");
    const char *verdict = json_string_value(json_object_get(expect, "verdict"));
    model_domain_t *d = calloc(1, sizeof(*d));

    d->domain = strdup(json_string_value(json_object_get(scenario, "domain")));
    if (strcmp(verdict, "invalid-input") == 0) {
        d->error = strdup("not a domain name");
        return d;
    }
    d->mx_dnssec = dnssec_of(json_string_value(json_object_get(expect, "mx_dnssec")));
    d->mx_outcome = MODEL_MX_FOUND;
    if (strcmp(verdict, "nxdomain") == 0)
        d->mx_outcome = MODEL_MX_NXDOMAIN;
    else if (strcmp(verdict, "null-mx") == 0)
        d->mx_outcome = MODEL_MX_NULL;
    else if (strcmp(verdict, "dns-error") == 0)
        d->mx_outcome = MODEL_MX_FAILED;
    d->n_hosts = json_array_size(hosts);
    d->hosts = calloc(d->n_hosts + 1, sizeof(*d->hosts));
    for (size_t i = 0; i < d->n_hosts; i++)
        host_from_json(&d->hosts[i], json_array_get(hosts, i));
    return d;
}

static void check_scenario(json_t *scenario, bool guard)
{
    json_t *expect = json_object_get(scenario, "expect");
    json_t *hosts = json_object_get(expect, "hosts");
    const char *domain = json_string_value(json_object_get(scenario, "domain"));
    const char *want = json_string_value(json_object_get(expect, "verdict"));
    model_domain_t *d = domain_from_json(scenario);
    char what[300];

    if (guard) {
        /* the same domain as the private-address guard sees it */
        json_t *g = json_object_get(scenario, "guard");
        want = json_string_value(json_object_get(g, "verdict"));
        for (size_t i = 0; i < d->n_hosts; i++)
            for (size_t j = 0; j < d->hosts[i].n_addresses; j++)
                d->hosts[i].addresses[j].result = MODEL_ADDR_BLOCKED;
    }
    for (size_t i = 0; i < d->n_hosts; i++) {
        const char *status = json_string_value(json_object_get(json_array_get(hosts, i), "status"));
        snprintf(what, sizeof(what), "%s host %s status", domain, d->hosts[i].name);
        CHECK_STR(what, model_host_status_name(model_host_status(&d->hosts[i])), status);
    }
    snprintf(what, sizeof(what), "%s verdict%s", domain, guard ? " (guarded)" : "");
    CHECK_STR(what, model_verdict_name(model_domain_verdict(d)), want);
    model_domain_free(d);
}

int main(int argc, char **argv)
{
    json_error_t err;
    json_t *catalogue, *scenarios;

    if (argc != 2) {
        fprintf(stderr, "usage: test_verdict fixtures/scenarios.json\n");
        return 2;
    }
    catalogue = json_load_file(argv[1], 0, &err);
    CHECK(catalogue != NULL, "%s:%d: %s", argv[1], err.line, err.text);
    scenarios = json_object_get(catalogue, "scenarios");
    CHECK(json_array_size(scenarios) >= 40, "catalogue has %zu scenarios, want >= 40",
          json_array_size(scenarios));
    for (size_t i = 0; i < json_array_size(scenarios); i++) {
        json_t *s = json_array_get(scenarios, i);
        check_scenario(s, false);
        if (json_object_get(s, "guard") != NULL)
            check_scenario(s, true);
    }
    /* every name table round-trips */
    for (int v = MODEL_VERDICT_INVALID_INPUT; v <= MODEL_VERDICT_NO_DANE; v++)
        CHECK_INT(model_verdict_name((model_verdict_t)v),
                  model_verdict_from_name(model_verdict_name((model_verdict_t)v)), v);
    json_decref(catalogue);
    return check_summary();
}
