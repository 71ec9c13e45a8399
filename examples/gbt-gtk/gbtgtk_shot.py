# SPDX-License-Identifier: LGPL-2.1-or-later
"""A PNG of a widget as it is drawn: Gtk.WidgetPaintable -> Gtk.Snapshot ->
the window's Gsk.Renderer render_texture() -> Gdk.Texture.save_to_png().

PyGObject before 3.44 cannot hand a GskRenderNode to Python (a fundamental
type it has no wrapper for: "No means to translate ... GskContainerNode"),
so the render-node step goes through ctypes on libgtk-4 with the C pointers
of the PyGObject objects.  With a newer PyGObject the same steps work in
Python (save_png tries that first)."""
import ctypes

_gtk = None


def _lib():
    global _gtk
    if _gtk is None:
        lib = ctypes.CDLL("libgtk-4.so.1")
        vp = ctypes.c_void_p
        lib.gtk_snapshot_new.restype = vp
        lib.gtk_snapshot_free_to_node.restype = vp
        lib.gtk_snapshot_free_to_node.argtypes = [vp]
        lib.gdk_paintable_snapshot.argtypes = [vp, vp, ctypes.c_double, ctypes.c_double]
        lib.gsk_renderer_render_texture.restype = vp
        lib.gsk_renderer_render_texture.argtypes = [vp, vp, vp]
        lib.gdk_texture_save_to_png.restype = ctypes.c_int
        lib.gdk_texture_save_to_png.argtypes = [vp, ctypes.c_char_p]
        lib.gsk_render_node_unref.argtypes = [vp]
        lib.g_object_unref.argtypes = [vp]
        ctypes.pythonapi.PyCapsule_GetPointer.restype = vp
        ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        _gtk = lib
    return _gtk


def _ptr(obj):
    return ctypes.pythonapi.PyCapsule_GetPointer(obj.__gpointer__, None)


def _save_python(Gtk, window, paintable, width, height, path):
    snap = Gtk.Snapshot.new()
    paintable.snapshot(snap, width, height)
    node = snap.to_node()  # raises TypeError before PyGObject 3.44
    if node is None:
        return "nothing to draw"
    texture = window.get_renderer().render_texture(node, None)
    return None if texture.save_to_png(path) else "cannot write %s" % path


def _save_ctypes(window, paintable, width, height, path):
    lib = _lib()
    snap = lib.gtk_snapshot_new()
    lib.gdk_paintable_snapshot(_ptr(paintable), snap, width, height)
    node = lib.gtk_snapshot_free_to_node(snap)
    if not node:
        return "nothing to draw"
    texture = lib.gsk_renderer_render_texture(_ptr(window.get_renderer()), node, None)
    lib.gsk_render_node_unref(node)
    if not texture:
        return "the renderer made no texture"
    ok = lib.gdk_texture_save_to_png(texture, path.encode())
    lib.g_object_unref(texture)
    return None if ok else "cannot write %s" % path


def save_png(Gtk, window, path):
    """Writes what @window shows to @path (PNG); None on success, else why
    not.  The window must be mapped (it has a renderer and a size)."""
    width, height = window.get_width(), window.get_height()
    if window.get_renderer() is None or width <= 0 or height <= 0:
        return "the window is not shown (%dx%d, renderer %r)" % (width, height,
                                                                 window.get_renderer())
    paintable = Gtk.WidgetPaintable.new(window)
    try:
        return _save_python(Gtk, window, paintable, width, height, path)
    except TypeError:
        return _save_ctypes(window, paintable, width, height, path)
