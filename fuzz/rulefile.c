/* fuzz/rulefile.c: rulefile_parse() on arbitrary bytes (rules/rulefile.c).
 * Checks, beyond "no crash, no leak":
 *   - a failure leaves *out NULL and has a message; a position when it is
 *     a YAML or a rule error (line >= 1 within the input's lines);
 *   - a success has group names unique and non-empty, every rule either a
 *     recording rule with a valid metric name and no for/annotations or an
 *     alert with a template per label and annotation, labels sorted;
 *   - the rule count is the sum over the groups;
 *   - rulefile_free() releases it all (LeakSanitizer in the replay build). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/rulefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rule_file *f = (struct rule_file *)1;
    struct err e = {0};
    int rc = rulefile_parse((const char *)data, size, "fuzz.yml", &f, &e);
    if (rc != 0) {
        assert(f == NULL);
        assert(e.msg[0] != 0);
        size_t lines = 1; /* YAML breaks lines at \n, \r and \r\n: an upper bound */
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n' || data[i] == '\r';
        assert(e.line >= 0 && (size_t)e.line <= lines + 1);
        return 0;
    }
    size_t total = 0;
    for (size_t g = 0; g < f->ngroups; g++) {
        const struct rule_group_def *gd = &f->groups[g];
        assert(gd->name && gd->name[0]);
        for (size_t h = 0; h < g; h++)
            assert(strcmp(f->groups[h].name, gd->name) != 0);
        for (size_t r = 0; r < gd->nrules; r++) {
            const struct rule_def *d = &gd->rules[r];
            assert(d->expr && d->expr[0]);
            if (d->kind == RULE_RECORD) {
                assert(labels_valid_metric_name(strv_c(d->name)));
                assert(d->for_ms == 0 && d->keep_firing_for_ms == 0 && d->nannotations == 0);
            } else {
                assert(d->kind == RULE_ALERT);
                for (size_t i = 0; i < d->nlabels; i++)
                    assert(d->label_tmpls[i] != NULL);
                for (size_t i = 0; i < d->nannotations; i++)
                    assert(d->annotation_tmpls[i] != NULL);
            }
            for (size_t i = 1; i < d->nlabels; i++)
                assert(strv_cmp(d->labels[i - 1].name, d->labels[i].name) <= 0);
            assert(rule_def_equal(d, d));
        }
        total += gd->nrules;
    }
    assert(total == f->nrules);
    rulefile_free(f);
    return 0;
}
