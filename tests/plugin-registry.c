/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin loader against the fixture corpus of tests/plugins/: a good
 * plugin, an optional one and one broken module per error code.  Each case
 * uses a registry of its own that scans only the directories it is given,
 * so neither the build tree's real plugins nor installed ones interfere. */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <gbt/gbt.h>

#include "gbt-plugin-registry-private.h"
#include "test-utils.h"

static char *corpus_dir;

typedef struct {
  GbtPluginRegistry *registry;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->registry = gbt_plugin_registry_new_for_test (TRUE);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->registry);
}

static void
load_corpus (Fixture *fx, const char *const *enable)
{
  const char *dirs[] = { corpus_dir, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (gbt_plugin_registry_load (fx->registry, dirs, enable, &error));
  g_assert_no_error (error);
}

/* (transfer none) the first info with @name (the one that counts) */
static GbtPluginInfo *
find_info (GbtPluginRegistry *registry, const char *name)
{
  g_autoptr(GPtrArray) list = gbt_plugin_registry_list (registry);

  for (guint i = 0; i < list->len; i++)
    {
      GbtPluginInfo *info = g_ptr_array_index (list, i);
      if (g_str_equal (info->name, name))
        return info;
    }
  return NULL;
}

static guint
count_infos (GbtPluginRegistry *registry, const char *name)
{
  g_autoptr(GPtrArray) list = gbt_plugin_registry_list (registry);
  guint n = 0;

  for (guint i = 0; i < list->len; i++)
    if (g_str_equal (((GbtPluginInfo *) g_ptr_array_index (list, i))->name, name))
      n++;
  return n;
}

static void
announce_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtAnnounceResponse **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = gbt_tracker_announce_finish (GBT_TRACKER (source), result, &error);
  g_assert_no_error (error);
}

static void
test_good (Fixture *fx, gconstpointer data)
{
  GbtPluginInfo *info;
  GbtTracker *tracker;
  GPtrArray *extensions;
  g_autoptr(GbtAnnounceRequest) request = gbt_announce_request_new ();
  GbtAnnounceResponse *response = NULL;
  g_autofree char *peer = NULL;

  load_corpus (fx, NULL);

  info = find_info (fx->registry, "good");
  g_assert_nonnull (info);
  g_assert_no_error (info->error);
  g_assert_true (info->loaded);
  g_assert_cmpstr (info->version, ==, "1.2.3");
  g_assert_cmpstr (info->license, ==, "LGPL-2.1-or-later");
  g_assert_true (info->flags & GBT_PLUGIN_FLAG_DEFAULT);
  g_assert_true (g_str_has_suffix (info->path, "libgbt-good.so"));
  g_assert_true (g_strv_contains ((const char *const *) info->interfaces, "tracker:test"));
  g_assert_true (g_strv_contains ((const char *const *) info->interfaces, "wire:ut_test"));
  g_assert_cmpuint (g_strv_length (info->interfaces), ==, 2);

  tracker = gbt_plugin_registry_get_tracker (fx->registry, "test");
  g_assert_true (GBT_IS_TRACKER (tracker));
  /* schemes are case-insensitive */
  g_assert_true (gbt_plugin_registry_get_tracker (fx->registry, "TeSt") == tracker);
  g_assert_null (gbt_plugin_registry_get_tracker (fx->registry, "gopher"));

  extensions = gbt_plugin_registry_get_wire_extensions (fx->registry);
  g_assert_cmpuint (extensions->len, ==, 1);
  g_assert_cmpstr (gbt_wire_extension_get_name (g_ptr_array_index (extensions, 0)), ==,
                   "ut_test");

  /* the object works across the module boundary */
  request->url = g_strdup ("test://tracker.invalid/announce");
  gbt_tracker_announce_async (tracker, request, NULL, announce_done_cb, &response);
  gbt_test_wait_until (response != NULL, 5000);
  g_assert_cmpint (response->interval, ==, 1800);
  g_assert_cmpuint (response->peers->len, ==, 1);
  peer = g_inet_address_to_string (
    g_inet_socket_address_get_address (g_ptr_array_index (response->peers, 0)));
  g_assert_cmpstr (peer, ==, "127.0.0.1");
  gbt_announce_response_free (response);
}

typedef struct {
  const char *name;
  GbtPluginError code;
} BrokenCase;

static const BrokenCase broken_cases[] = {
  { "abi-too-new", GBT_PLUGIN_ERROR_ABI_MISMATCH },
  { "abi-wrong-major", GBT_PLUGIN_ERROR_ABI_MISMATCH },
  { "abi-short", GBT_PLUGIN_ERROR_ABI_MISMATCH },
  { "name-mismatch", GBT_PLUGIN_ERROR_NAME_MISMATCH },
  { "invalid", GBT_PLUGIN_ERROR_INVALID },
  { "missing-symbol", GBT_PLUGIN_ERROR_NOT_A_PLUGIN },
  { "register-fails", GBT_PLUGIN_ERROR_REGISTER_FAILED },
  { "wrong-interface", GBT_PLUGIN_ERROR_WRONG_INTERFACE },
  { "junk", GBT_PLUGIN_ERROR_MODULE },
  { "missing-on-message", GBT_PLUGIN_ERROR_REGISTER_FAILED },
  { "missing-announce-finish", GBT_PLUGIN_ERROR_REGISTER_FAILED },
  { "missing-connect", GBT_PLUGIN_ERROR_REGISTER_FAILED },
  { "missing-stop", GBT_PLUGIN_ERROR_REGISTER_FAILED },
};

static void
test_broken (Fixture *fx, gconstpointer data)
{
  const BrokenCase *c = data;
  GbtPluginInfo *info;

  load_corpus (fx, NULL);

  info = find_info (fx->registry, c->name);
  g_assert_nonnull (info);
  g_assert_false (info->loaded);
  g_assert_error (info->error, GBT_PLUGIN_ERROR, (int) c->code);
  g_assert_nonnull (info->interfaces);
  g_assert_cmpuint (g_strv_length (info->interfaces), ==, 0);

  /* a broken plugin stops no other */
  g_assert_true (find_info (fx->registry, "good")->loaded);
  g_assert_nonnull (gbt_plugin_registry_get_tracker (fx->registry, "test"));
}

static void
test_broken_leaves_nothing (Fixture *fx, gconstpointer data)
{
  load_corpus (fx, NULL);

  /* register-fails added a "fails" tracker before failing: rolled back */
  g_assert_null (gbt_plugin_registry_get_tracker (fx->registry, "fails"));
  g_assert_null (gbt_plugin_registry_get_tracker (fx->registry, "wrong"));
  /* descriptors that failed their checks give no metadata */
  g_assert_null (find_info (fx->registry, "abi-wrong-major")->version);
  g_assert_null (find_info (fx->registry, "junk")->version);
}

/* The refusal names the type and the method, so the plugin's author knows
 * what to fill in; nothing of the plugin stays registered. */
static void
test_missing_method (Fixture *fx, gconstpointer data)
{
  static const struct {
    const char *plugin, *type, *method;
  } cases[] = {
    { "missing-on-message", "MissingOnMessage", "on_message" },
    { "missing-announce-finish", "MissingAnnounceFinish", "announce_finish" },
    { "missing-connect", "MissingConnect", "connect_async" },
    { "missing-stop", "MissingStop", "stop" },
  };

  load_corpus (fx, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GbtPluginInfo *info = find_info (fx->registry, cases[i].plugin);

      g_assert_nonnull (info);
      g_assert_error (info->error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_REGISTER_FAILED);
      g_assert_nonnull (strstr (info->error->message, cases[i].type));
      g_assert_nonnull (strstr (info->error->message, cases[i].method));
    }
  g_assert_null (gbt_plugin_registry_get_tracker (fx->registry, "missing"));
  g_assert_null (gbt_plugin_registry_get_transport (fx->registry, "missing"));
  g_assert_cmpuint (gbt_plugin_registry_get_peer_sources (fx->registry)->len, ==, 0);
  g_assert_cmpuint (gbt_plugin_registry_get_wire_extensions (fx->registry)->len, ==, 1);
}

/* Plugins built against ABI 1.0 and 1.1 (their descriptors say so) still
 * load into this core and register what they have; tests/session.c shows
 * them at work. */
static void
test_old_minor (Fixture *fx, gconstpointer data)
{
  const char *enable[] = { "abi-1-0", "abi-1-1", NULL };
  GbtPluginInfo *info;
  GPtrArray *exts;
  GPtrArray *sources;

  load_corpus (fx, enable);
  info = find_info (fx->registry, "abi-1-0");
  g_assert_nonnull (info);
  g_assert_no_error (info->error);
  g_assert_true (info->loaded);
  g_assert_true (g_strv_contains ((const char *const *) info->interfaces, "wire:ut_abi10"));
  info = find_info (fx->registry, "abi-1-1");
  g_assert_nonnull (info);
  g_assert_no_error (info->error);
  g_assert_true (info->loaded);
  g_assert_true (g_strv_contains ((const char *const *) info->interfaces, "peer-source:abi11"));

  exts = gbt_plugin_registry_get_wire_extensions (fx->registry);
  g_assert_cmpuint (exts->len, ==, 2);
  g_assert_cmpstr (gbt_wire_extension_get_name (g_ptr_array_index (exts, 1)), ==, "ut_abi10");
  sources = gbt_plugin_registry_get_peer_sources (fx->registry);
  g_assert_cmpuint (sources->len, ==, 1);
  /* its 1.1 vfunc is reached through the core's wrapper */
  g_assert_cmpuint (gbt_peer_source_get_dht_port (g_ptr_array_index (sources, 0), NULL), ==, 6999);
}

static gboolean
holds_object_of_type (GPtrArray *objects, const char *type_name)
{
  for (guint i = 0; i < objects->len; i++)
    if (g_str_equal (G_OBJECT_TYPE_NAME (g_ptr_array_index (objects, i)), type_name))
      return TRUE;
  return FALSE;
}

/* Two views of one registry (two sessions of one process): the modules
 * load and register once, but each view sees only the plugins it enables. */
static void
test_views (Fixture *fx, gconstpointer data)
{
  const char *dirs[] = { corpus_dir, NULL };
  const char *with_optional[] = { "optional", NULL };
  const char *without_good[] = { "-good", NULL };
  g_autoptr(GbtPluginRegistry) a = gbt_plugin_registry_new_view (fx->registry);
  g_autoptr(GbtPluginRegistry) b = gbt_plugin_registry_new_view (fx->registry);
  g_autoptr(GbtPluginRegistry) c = gbt_plugin_registry_new_view (fx->registry);
  g_autoptr(GPtrArray) shared_list = NULL;
  g_autoptr(GPtrArray) view_list = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *b_sources;

  /* empty until loaded */
  g_assert_cmpuint (gbt_plugin_registry_get_peer_sources (a)->len, ==, 0);
  g_assert_null (gbt_plugin_registry_get_tracker (a, "test"));

  g_assert_true (gbt_plugin_registry_load (a, dirs, with_optional, &error));
  g_assert_no_error (error);
  g_assert_true (gbt_plugin_registry_load (b, dirs, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (gbt_plugin_registry_load (c, dirs, without_good, &error));
  g_assert_no_error (error);

  /* a: the defaults and the optional peer source */
  g_assert_true (gbt_plugin_registry_uses (a, "optional"));
  g_assert_true (gbt_plugin_registry_uses (a, "good"));
  g_assert_cmpuint (gbt_plugin_registry_get_peer_sources (a)->len, ==, 1);
  g_assert_true (holds_object_of_type (gbt_plugin_registry_get_peer_sources (a), "TestPeerSource"));
  g_assert_nonnull (gbt_plugin_registry_get_tracker (a, "test"));
  /* b: the defaults only, although the module is registered process-wide */
  b_sources = gbt_plugin_registry_get_peer_sources (b);
  g_assert_false (gbt_plugin_registry_uses (b, "optional"));
  g_assert_true (gbt_plugin_registry_uses (fx->registry, "optional"));
  g_assert_cmpuint (b_sources->len, ==, 0);
  g_assert_true (gbt_plugin_registry_get_tracker (b, "test") ==
                 gbt_plugin_registry_get_tracker (a, "test"));
  g_assert_cmpuint (gbt_plugin_registry_get_wire_extensions (b)->len, ==, 1);
  /* c: opted out of a default plugin that the others use */
  g_assert_false (gbt_plugin_registry_uses (c, "good"));
  g_assert_null (gbt_plugin_registry_get_tracker (c, "test"));
  g_assert_cmpuint (gbt_plugin_registry_get_wire_extensions (c)->len, ==, 0);
  g_assert_true (find_info (fx->registry, "good")->loaded);

  /* enabling later, by name, adds to that view alone, in the same array */
  g_assert_true (gbt_plugin_registry_load (b, NULL, with_optional, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (b_sources->len, ==, 1);
  g_assert_true (g_ptr_array_index (b_sources, 0) ==
                 g_ptr_array_index (gbt_plugin_registry_get_peer_sources (a), 0));
  g_assert_cmpuint (gbt_plugin_registry_get_peer_sources (c)->len, ==, 0);

  /* an unknown name is still a usage error, listing what there is */
  {
    const char *unknown[] = { "nope", NULL };
    g_assert_false (gbt_plugin_registry_load (c, NULL, unknown, &error));
    g_assert_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_UNKNOWN);
    g_assert_nonnull (strstr (error->message, "optional"));
  }

  /* the modules are the shared registry's: one list */
  shared_list = gbt_plugin_registry_list (fx->registry);
  view_list = gbt_plugin_registry_list (c);
  g_assert_cmpuint (shared_list->len, ==, view_list->len);
  g_assert_true (g_ptr_array_index (shared_list, 0) == g_ptr_array_index (view_list, 0));

  /* a view going away leaves the others and the shared registry be */
  g_clear_object (&a);
  g_assert_cmpuint (b_sources->len, ==, 1);
}

static void
test_optional (Fixture *fx, gconstpointer data)
{
  const char *enable[] = { "optional", NULL };
  GbtPluginInfo *info;
  GPtrArray *sources;

  load_corpus (fx, NULL);
  info = find_info (fx->registry, "optional");
  g_assert_nonnull (info);
  g_assert_no_error (info->error);
  g_assert_false (info->loaded);
  g_assert_false (info->flags & GBT_PLUGIN_FLAG_DEFAULT);
  g_assert_cmpstr (info->version, ==, "0.1"); /* listed even though off */
  sources = gbt_plugin_registry_get_peer_sources (fx->registry);
  g_assert_cmpuint (sources->len, ==, 0);

  /* a later call enables it without scanning again */
  load_corpus (fx, enable);
  g_assert_true (info == find_info (fx->registry, "optional"));
  g_assert_true (info->loaded);
  g_assert_true (g_strv_contains ((const char *const *) info->interfaces, "peer-source:optional"));
  g_assert_cmpuint (sources->len, ==, 1);
  g_assert_true (GBT_IS_PEER_SOURCE (g_ptr_array_index (sources, 0)));

  /* enabling it again changes nothing */
  load_corpus (fx, enable);
  g_assert_cmpuint (sources->len, ==, 1);
  g_assert_cmpuint (count_infos (fx->registry, "optional"), ==, 1);
}

static void
test_duplicate_scheme (Fixture *fx, gconstpointer data)
{
  const char *enable[] = { "duplicate", NULL };
  GbtTracker *tracker;
  GbtPluginInfo *info;

  /* enabled from the first call: default plugins still register first */
  load_corpus (fx, enable);
  info = find_info (fx->registry, "duplicate");
  g_assert_nonnull (info);
  g_assert_false (info->loaded);
  g_assert_error (info->error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_DUPLICATE);

  tracker = gbt_plugin_registry_get_tracker (fx->registry, "test");
  g_assert_nonnull (tracker);
  g_assert_cmpstr (G_OBJECT_TYPE_NAME (tracker), ==, "TestTracker");
  g_assert_true (find_info (fx->registry, "good")->loaded);
}

/* The same plugin in two directories: the first found wins. */
static void
duplicate_file_body (void)
{
  g_autoptr(GbtPluginRegistry) registry = gbt_plugin_registry_new_for_test (TRUE);
  g_autofree char *tmp = gbt_test_mkdtemp ();
  g_autofree char *src_path = g_build_filename (corpus_dir, "libgbt-good.so", NULL);
  g_autofree char *copy_path = g_build_filename (tmp, "libgbt-good.so", NULL);
  g_autoptr(GFile) src = g_file_new_for_path (src_path);
  g_autoptr(GFile) copy = g_file_new_for_path (copy_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  const char *dirs[] = { tmp, corpus_dir, NULL };
  GbtPluginInfo *first = NULL;
  GbtPluginInfo *second = NULL;

  g_assert_true (g_file_copy (src, copy, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (gbt_plugin_registry_load (registry, dirs, NULL, &error));
  g_assert_no_error (error);

  list = gbt_plugin_registry_list (registry);
  for (guint i = 0; i < list->len; i++)
    {
      GbtPluginInfo *info = g_ptr_array_index (list, i);
      if (!g_str_equal (info->name, "good"))
        continue;
      if (first == NULL)
        first = info;
      else
        second = info;
    }
  /* the directory searched first wins; the other copy is refused */
  g_assert_nonnull (first);
  g_assert_nonnull (second);
  g_assert_cmpstr (first->path, ==, copy_path);
  g_assert_true (first->loaded);
  g_assert_cmpstr (second->path, ==, src_path);
  g_assert_false (second->loaded);
  g_assert_error (second->error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_DUPLICATE);

  gbt_test_rmtree (tmp);
}

static void
test_unknown (Fixture *fx, gconstpointer data)
{
  const char *dirs[] = { corpus_dir, NULL };
  const char *enable[] = { "optional", "no-such-plugin", NULL };
  g_autoptr(GError) error = NULL;

  g_assert_false (gbt_plugin_registry_load (fx->registry, dirs, enable, &error));
  g_assert_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_UNKNOWN);
  /* the message lists what could have been named */
  g_assert_nonnull (strstr (error->message, "no-such-plugin"));
  g_assert_nonnull (strstr (error->message, "optional"));
  g_assert_nonnull (strstr (error->message, "good"));

  /* the known names were still honoured */
  g_assert_true (find_info (fx->registry, "optional")->loaded);
  g_assert_true (find_info (fx->registry, "good")->loaded);

  /* naming a broken plugin is not a usage error: its reason is in its info */
  g_clear_error (&error);
  {
    const char *enable_broken[] = { "abi-too-new", NULL };
    g_assert_true (gbt_plugin_registry_load (fx->registry, NULL, enable_broken, &error));
    g_assert_no_error (error);
  }
}

static void
test_idempotent (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;

  load_corpus (fx, NULL);
  first = gbt_plugin_registry_list (fx->registry);
  load_corpus (fx, NULL);
  second = gbt_plugin_registry_list (fx->registry);
  g_assert_cmpuint (first->len, ==, second->len);
  g_assert_cmpuint (first->len, >=, 12);
  g_assert_cmpuint (count_infos (fx->registry, "good"), ==, 1);
  g_assert_cmpuint (gbt_plugin_registry_get_wire_extensions (fx->registry)->len, ==, 1);
}

static void
test_missing_dir (Fixture *fx, gconstpointer data)
{
  g_autofree char *tmp = gbt_test_mkdtemp ();
  g_autofree char *missing = g_build_filename (tmp, "nowhere", NULL);
  const char *dirs[] = { missing, corpus_dir, NULL };
  g_autoptr(GError) error = NULL;

  /* a directory named explicitly must exist; the rest still loads */
  g_assert_false (gbt_plugin_registry_load (fx->registry, dirs, NULL, &error));
  g_assert_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_FAILED);
  g_assert_true (find_info (fx->registry, "good")->loaded);
  gbt_test_rmtree (tmp);
}

static void
test_bad_name (Fixture *fx, gconstpointer data)
{
  g_autofree char *tmp = gbt_test_mkdtemp ();
  g_autofree char *path = g_build_filename (tmp, "libgbt-Bad_Name.so", NULL);
  const char *dirs[] = { tmp, NULL };
  g_autoptr(GError) error = NULL;
  GbtPluginInfo *info;

  /* never opened: such a name cannot spell its entry symbol */
  g_assert_true (g_file_set_contents (path, "", 0, &error));
  g_assert_true (gbt_plugin_registry_load (fx->registry, dirs, NULL, &error));
  g_assert_no_error (error);
  info = find_info (fx->registry, "Bad_Name");
  g_assert_nonnull (info);
  g_assert_error (info->error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_NOT_A_PLUGIN);
  gbt_test_rmtree (tmp);
}

/* GBT_PLUGIN_PATH, with the default directories on. */
static void
env_path_body (void)
{
  g_autoptr(GbtPluginRegistry) registry = gbt_plugin_registry_new_for_test (FALSE);
  g_autofree char *tmp = gbt_test_mkdtemp ();
  g_autofree char *path = g_strdup_printf ("%s/nowhere:%s", tmp, corpus_dir);
  g_autoptr(GError) error = NULL;
  GbtPluginInfo *info;

  /* missing entries in GBT_PLUGIN_PATH are skipped quietly */
  g_setenv ("GBT_PLUGIN_PATH", path, TRUE);
  g_assert_true (gbt_plugin_registry_load (registry, NULL, NULL, &error));
  g_assert_no_error (error);
  info = find_info (registry, "good");
  g_assert_nonnull (info);
  g_assert_true (info->loaded);
  g_assert_true (g_str_has_prefix (info->path, corpus_dir));
  gbt_test_rmtree (tmp);
}

/* Each in a child process.  duplicate-file: the copy is a second file, and
 * loading it where the corpus's good plugin already registered its GTypes
 * would clash (a real process never loads both: the shadowed copy is not
 * even opened).  env-path: it also scans the build tree's real plugins. */
static void
test_in_subprocess (gconstpointer data)
{
  void (*body) (void) = (void (*) (void)) data;

  if (g_test_subprocess ())
    {
      body ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_default_registry (void)
{
  GbtPluginRegistry *registry = gbt_plugin_registry_get_default ();

  g_assert_true (GBT_IS_PLUGIN_REGISTRY (registry));
  g_assert_true (registry == gbt_plugin_registry_get_default ());
}

/* The same corpus through `gbt plugins`: exit codes and the JSON listing. */
static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) g_getenv ("GBT_CLI"));
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);

  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               out, err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_cli (void)
{
  g_autofree char *path_arg = g_strdup_printf ("--plugin-path=%s", corpus_dir);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  if (g_getenv ("GBT_CLI") == NULL)
    {
      g_test_skip ("GBT_CLI is not set");
      return;
    }

  {
    const char *args[] = { path_arg, "plugins", "--json", NULL };
    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "\"name\": \"good\""));
    g_assert_nonnull (strstr (out, "\"status\": \"loaded\""));
    g_assert_nonnull (strstr (out, "\"code\": \"abi-mismatch\""));
    g_assert_nonnull (strstr (out, "\"code\": \"module\""));
    g_assert_nonnull (strstr (out, "\"tracker:test\""));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { path_arg, "plugins", NULL };
    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "good"));
    g_assert_nonnull (strstr (out, "libgbt-junk.so"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    /* an unknown name is a usage error naming the ones available */
    const char *args[] = { path_arg, "--plugins=optional,nope", "plugins", NULL };
    g_assert_cmpint (run_cli (args, &out, &err), ==, 2);
    g_assert_nonnull (strstr (err, "nope"));
    g_assert_nonnull (strstr (err, "good"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "--plugin-path=/nonexistent/gbt-plugins", "plugins", NULL };
    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
  }
}

int
main (int argc, char **argv)
{
  g_autofree char *builddir = NULL;

  g_test_init (&argc, &argv, NULL);

  builddir = g_strdup (g_getenv ("GBT_TEST_BUILDDIR"));
  if (builddir == NULL)
    builddir = g_path_get_dirname (argv[0]);
  corpus_dir = g_build_filename (builddir, "plugins", NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/plugin/load/good", test_good);
  for (gsize i = 0; i < G_N_ELEMENTS (broken_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/plugin/load/%s", broken_cases[i].name);
      g_test_add (path, Fixture, &broken_cases[i], fixture_setup, test_broken, fixture_teardown);
    }
  ADD ("/plugin/load/rollback", test_broken_leaves_nothing);
  ADD ("/plugin/load/optional", test_optional);
  ADD ("/plugin/load/duplicate-scheme", test_duplicate_scheme);
  ADD ("/plugin/load/unknown", test_unknown);
  ADD ("/plugin/load/idempotent", test_idempotent);
  ADD ("/plugin/load/missing-dir", test_missing_dir);
  ADD ("/plugin/load/bad-name", test_bad_name);
  ADD ("/plugin/load/missing-method", test_missing_method);
  ADD ("/plugin/load/old-minor", test_old_minor);
  ADD ("/plugin/registry/views", test_views);
#undef ADD
  g_test_add_data_func ("/plugin/load/duplicate-file", (gconstpointer) duplicate_file_body,
                        test_in_subprocess);
  g_test_add_data_func ("/plugin/load/env-path", (gconstpointer) env_path_body,
                        test_in_subprocess);
  g_test_add_func ("/plugin/registry/default", test_default_registry);
  g_test_add_func ("/plugin/cli", test_cli);

  return g_test_run ();
}
