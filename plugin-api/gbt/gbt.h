/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one header applications include. */
#pragma once

#define GBT_INSIDE

#include <gbt/gbt-version.h>
#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-types.h>
#include <gbt/gbt-bencode.h>
#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-magnet.h>
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-tracker.h>
#include <gbt/gbt-udp-port.h>
#include <gbt/gbt-transport.h>
#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-wire-extension.h>
#include <gbt/gbt-stream-filter.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-file.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-creator.h>
#include <gbt/gbt-verifier.h>
#include <gbt/gbt-peer-info.h>
#include <gbt/gbt-tracker-entry.h>

#undef GBT_INSIDE
