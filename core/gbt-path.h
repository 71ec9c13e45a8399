/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Path sanitising for names that come from torrents: pure functions, so the
 * rules are unit-tested on their own (tests/path.c).  Whatever a torrent
 * says, the result is a relative path of plain components: no "." or "..",
 * no separators, no control characters, valid UTF-8, each component at most
 * GBT_PATH_MAX_COMPONENT bytes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NAME_MAX of the common Linux, BSD and macOS file systems */
#define GBT_PATH_MAX_COMPONENT 255

typedef enum {
  GBT_PATH_CHANGE_NONE = 0,
  GBT_PATH_CHANGE_DROPPED = 1 << 0,      /* a ".", ".." or empty component was left out */
  GBT_PATH_CHANGE_SEPARATOR = 1 << 1,    /* '/' or '\\' inside a component */
  GBT_PATH_CHANGE_CONTROL = 1 << 2,      /* NUL or another control character */
  GBT_PATH_CHANGE_INVALID_UTF8 = 1 << 3,
  GBT_PATH_CHANGE_BIDI = 1 << 4,         /* writing-direction overrides (spoofed extensions) */
  GBT_PATH_CHANGE_TOO_LONG = 1 << 5,
  GBT_PATH_CHANGE_PLACEHOLDER = 1 << 6,  /* nothing usable was left: a placeholder name */
  GBT_PATH_CHANGE_RENAMED = 1 << 7,      /* collided with another file or a directory */
} GbtPathChange;

/* Sanitises one path component of @len raw bytes.  Returns the safe
 * component, or %NULL when it is to be dropped ("", ".", "..", or nothing
 * left); ORs what was changed into @changes. */
G_GNUC_INTERNAL char *gbt_path_sanitize_component (const void *data, gsize len, guint *changes);

/* Sanitises a list of raw components (each @lens[i] bytes) into a relative
 * path joined by '/'.  Returns %NULL when every component was dropped (the
 * caller decides on a placeholder). */
G_GNUC_INTERNAL char *gbt_path_sanitize_components (const guint8 *const *components,
                                                     const gsize *lens, guint n,
                                                     guint *changes);

/* "name.ext" -> "name.<n>.ext" (no extension: "name.<n>"), keeping the last
 * component within GBT_PATH_MAX_COMPONENT bytes. */
G_GNUC_INTERNAL char *gbt_path_add_suffix (const char *path, guint n);

/* Renames, in place, every path of @paths (char *, '/'-joined) that equals an
 * earlier one or a directory holding another path, by gbt_path_add_suffix().
 * Entries where @skip[i] is TRUE (pad files, never written) take no part;
 * @skip may be %NULL.  Sets @renamed[i] (may be %NULL) for each rename.
 * Case-sensitive. */
G_GNUC_INTERNAL void gbt_path_resolve_collisions (GPtrArray *paths, const gboolean *skip,
                                                  gboolean *renamed);

/* One human-readable phrase for a set of GbtPathChange bits. */
G_GNUC_INTERNAL char *gbt_path_describe_changes (guint changes);

/* @data made printable for messages: valid UTF-8, control characters escaped. */
G_GNUC_INTERNAL char *gbt_path_printable (const void *data, gsize len);

G_END_DECLS
