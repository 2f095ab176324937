/* test_targets_files.c: the `target_files:` section (collect/targets_files.c)
 * with a fake kind on a manager that is never started: templates read and
 * refused with their line:col, every file address made a target with the
 * group's labels over the template's, a pass after an edit applying only
 * the diff, a broken file keeping its targets with file:line:col, a reload
 * of an unchanged section keeping every target, and the source lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/targets.h"
#include "collect/targets_files.h"
#include "core/yaml_tree.h"

static int opens;
static char last_site[64], last_source[64], last_community[64];

static int fake_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    (void)kind_ctx;
    const char *community = "public";
    if (yaml_tree_get_str(spec->config, "community", &community, e) != 0 ||
        yaml_tree_check_keys(spec->config, e) != 0)
        return e->code;
    struct strv site = labels_get(spec->labels, spec->nlabels, STRV_LIT("site"));
    struct strv src = labels_get(spec->labels, spec->nlabels, STRV_LIT("source"));
    snprintf(last_site, sizeof last_site, "%.*s", (int)site.n, site.p ? site.p : "");
    snprintf(last_source, sizeof last_source, "%.*s", (int)src.n, src.p ? src.p : "");
    snprintf(last_community, sizeof last_community, "%s", community);
    opens++;
    *state = NULL;
    return 0;
}

static int fake_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    (void)state, (void)now_ms, (void)out, (void)e;
    return 0;
}

static const struct target_kind fake_kind = {
    .name = "fake", .open = fake_open, .collect = fake_collect};

static int sink(void *ctx, struct batch *b, struct err *e)
{
    (void)ctx, (void)b, (void)e;
    return 0;
}

static char dir[512];

static void put(const char *name, const char *text)
{
    char path[700], tmp[710];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* a new inode: the watcher sees it */
}

static char *config_path(void)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/tide.yml", dir);
    return p;
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tfiles.XXXXXX", t && t[0] ? t : "/tmp");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct targets *manager(void)
{
    struct targets *m = NULL;
    struct targets_opts o = {.workers = 1, .sink = sink};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &fake_kind, NULL), 0);
    return m;
}

static size_t count(struct targets *m)
{
    struct target_status *v = NULL;
    size_t n = 0;
    assert_int_equal(targets_list(m, NULL, &v, &n), 0);
    free(v);
    return n;
}

static const char *good_config = "target_files:\n"
                                 "  - files: [sd/*.yml]\n"
                                 "    refresh_interval: 1m\n"
                                 "    kind: fake\n"
                                 "    interval: 30s\n"
                                 "    community: s3cret\n"
                                 "    labels: {source: inventory, site: default}\n";

static void test_files(void **state)
{
    (void)state;
    char sd[600];
    snprintf(sd, sizeof sd, "%s/sd", dir);
    mkdir(sd, 0755);
    put("tide.yml", good_config);
    put("sd/a.yml", "- targets: [r1, r2]\n  labels: {site: tbilisi, __meta_x: y}\n");
    struct targets *m = manager();
    struct targets_files *tf = NULL;
    assert_int_equal(targets_files_new(m, NULL, NULL, &tf), 0);
    struct targets_files_diff d;
    struct err w = {0}, e = {0};
    opens = 0;
    assert_int_equal(targets_files_load(tf, config_path(), &d, &w, &e), 0);
    assert_int_equal(w.code, 0);
    assert_int_equal(d.added, 2);
    assert_int_equal(count(m), 2);
    assert_int_equal(opens, 3); /* the template's stand-in, then r1 and r2 */
    assert_string_equal(last_site, "tbilisi"); /* the group's over the template's */
    assert_string_equal(last_source, "inventory");
    assert_string_equal(last_community, "s3cret");
    struct target_status st;
    assert_int_equal(targets_get(m, "fake", "r1", &st), 0);
    assert_string_equal(st.address, "r1");
    assert_int_equal(st.interval_ms, 30000);
    char file[700], want[700];
    snprintf(want, sizeof want, "%s/sd/a.yml", dir);
    assert_true(targets_files_source(tf, "fake", "r2", file, sizeof file));
    assert_string_equal(file, want);
    assert_false(targets_files_source(tf, "fake", "r9", NULL, 0));

    /* No change: nothing read again. */
    assert_int_equal(targets_files_sync(tf, false, &d, &w), 0);
    assert_int_equal(d.added + d.removed + d.kept, 0);

    /* Edit: r2 gone, r3 new, r1 kept (not opened again). */
    put("sd/a.yml", "- targets: [r1, r3]\n  labels: {site: tbilisi, __meta_x: y}\n");
    opens = 0;
    assert_int_equal(targets_files_sync(tf, false, &d, &w), 0);
    assert_int_equal(d.added, 1);
    assert_int_equal(d.removed, 1);
    assert_int_equal(d.kept, 1);
    assert_int_equal(opens, 1);
    assert_int_equal(targets_get(m, "fake", "r2", &st), TIDE_ENOTFOUND);
    assert_int_equal(targets_get(m, "fake", "r3", &st), 0);

    /* A group label change replaces that group's targets. */
    put("sd/a.yml", "- targets: [r1]\n  labels: {site: tbilisi, __meta_x: y}\n"
                    "- targets: [r3]\n  labels: {site: batumi}\n");
    assert_int_equal(targets_files_sync(tf, false, &d, &w), 0);
    assert_int_equal(d.added, 1);
    assert_int_equal(d.removed, 1);
    assert_string_equal(last_site, "batumi");

    /* Broken: the old targets stay; the warning has file:line:col. */
    put("sd/a.yml", "- targets: [r7]\n  labels: {site: [x\n");
    assert_int_equal(targets_files_sync(tf, false, &d, &w), 0);
    assert_int_not_equal(w.code, 0);
    snprintf(want, sizeof want, "%s/sd/a.yml:3:1: ", dir);
    assert_non_null(strstr(w.msg, want));
    assert_int_equal(d.added + d.removed, 0);
    assert_int_equal(count(m), 2);

    /* A reload of the same section keeps every target (broken file too). */
    err_clear(&w);
    opens = 0;
    assert_int_equal(targets_files_load(tf, config_path(), &d, &w, &e), 0);
    assert_int_equal(d.kept, 2);
    assert_int_equal(d.added + d.removed, 0);
    assert_int_equal(count(m), 2);

    /* A second file: a duplicate address is kept once (the first). */
    put("sd/a.yml", "- targets: [r1]\n");
    put("sd/b.yml", "- targets: [r1, r4]\n");
    err_clear(&w);
    assert_int_equal(targets_files_sync(tf, false, &d, &w), 0);
    assert_non_null(strstr(w.msg, "listed again"));
    assert_int_equal(count(m), 2);

    /* The section gone: every file target goes. */
    put("tide.yml", "log_level: info\n");
    assert_int_equal(targets_files_load(tf, config_path(), &d, &w, &e), 0);
    assert_int_equal(d.removed, 2);
    assert_int_equal(count(m), 0);
    targets_files_free(tf);
    targets_free(m);
}

/* Load `yaml` as the config; the error's line:col and text. */
static void refused(const char *yaml, int line, int col, const char *text)
{
    put("tide.yml", yaml);
    struct targets *m = manager();
    struct targets_files *tf = NULL;
    assert_int_equal(targets_files_new(m, NULL, NULL, &tf), 0);
    struct targets_files_diff d;
    struct err w = {0}, e = {0};
    assert_int_not_equal(targets_files_load(tf, config_path(), &d, &w, &e), 0);
    if (e.line != line || e.col != col || strstr(e.msg, text) == NULL)
        fail_msg("%s: got %d:%d %s, want %d:%d %s", yaml, e.line, e.col, e.msg, line, col, text);
    assert_int_equal(count(m), 0); /* no stand-in left */
    targets_files_free(tf);
    targets_free(m);
}

static void test_refused(void **state)
{
    (void)state;
    refused("target_files: {files: [a.yml]}\n", 1, 15, "expected a list");
    refused("target_files:\n  - kind: fake\n", 2, 5, "at least one path");
    refused("target_files:\n  - files: [a.txt]\n    kind: fake\n", 2, 13, "json, yml, or yaml");
    refused("target_files:\n  - files: [a.yml]\n", 2, 5, "kind");
    refused("target_files:\n  - files: [a.yml]\n    kind: nope\n", 3, 11, "unknown kind");
    refused("target_files:\n  - files: [a.yml]\n    kind: fake\n    address: r1\n", 4, 14,
            "the files give the addresses");
    refused("target_files:\n  - files: [a.yml]\n    kind: fake\n    comunity: x\n", 4, 5,
            "unknown key \"comunity\"");
    refused("target_files:\n  - files: [a.yml]\n    kind: fake\n    labels: {__x: y}\n", 4, 14,
            "not a label name");
    refused("target_files:\n  - files: [a.yml]\n    kind: host\n", 3, 11, "cannot be configured");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
