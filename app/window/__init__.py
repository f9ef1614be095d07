"""The editor window's parts, each made once and wired together by ``app.main_window``:
``actions`` (every action: text, shortcut, tip, icon, when it is enabled), ``bars`` (the menus
and tool bars, with the method, device and brush-size controls), ``documents`` (opening,
PgUp / PgDn through a folder, saving, the window's title), ``docks`` (the dock panels and the
``PanelHost`` they see), ``status`` (the status bar, progress and the error box) and
``prompts`` (non-modal questions)."""
