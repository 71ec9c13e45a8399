/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean gbt_test_set_flag_cb (gpointer data);

/* Spins the default main context until @cond holds or @ms pass. */
#define gbt_test_wait_until(cond, ms)                                      \
  G_STMT_START                                                             \
  {                                                                        \
    gboolean expired_ = FALSE;                                             \
    guint id_ = g_timeout_add ((ms), gbt_test_set_flag_cb, &expired_);     \
    while (!(cond) && !expired_)                                           \
      g_main_context_iteration (NULL, TRUE);                               \
    if (!expired_)                                                         \
      g_source_remove (id_);                                               \
    g_assert_true (cond);                                                  \
  }                                                                        \
  G_STMT_END

/* A fresh temporary directory, removed (recursively) by gbt_test_rmtree. */
char *gbt_test_mkdtemp (void);
void gbt_test_rmtree (const char *path);
/* Path to a file in tests/data (source tree). */
char *gbt_test_data_path (const char *name);

G_END_DECLS
