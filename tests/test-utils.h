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

/* Big-endian 32-bit fields, as in BEP 15 packets. */
static inline guint32
gbt_test_get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline void
gbt_test_put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

/* Spins the default main context for @ms. */
void gbt_test_spin (guint ms);
/* A port on 127.0.0.1 free for both TCP and UDP (opentracker takes both). */
guint16 gbt_test_free_port (void);

/* A real opentracker on 127.0.0.1:port (HTTP and UDP), whitelisting one
 * info-hash.  Debian's build is whitelist-only, chroots to its -d directory
 * (so -w names the whitelist inside it) and drops to -u nobody.  Returns
 * once it accepts a "started" announce for the hash. */
typedef struct {
  GSubprocess *proc;
  char *dir;
  guint16 port;
} GbtTestOpentracker;

/* NULL when opentracker is not installed (the caller skips). */
GbtTestOpentracker *gbt_test_opentracker_start (const char *info_hash_hex);
/* Stops it by PID and waits for it; NULL-safe. */
void gbt_test_opentracker_stop (GbtTestOpentracker *ot);

G_END_DECLS
