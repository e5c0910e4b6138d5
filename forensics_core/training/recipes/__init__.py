"""Training recipes, one module per learned detector; each registers itself on import.

:data:`RECIPE_MODULES` names them explicitly (a frozen application has no package folder to
scan); ``tests/test_packaging.py`` fails when a recipe module is missing from the list.
"""

#: Every module of this package that registers a training recipe, imported in this order.
RECIPE_MODULES: tuple[str, ...] = (
    "fusion",
    "j_conv_lstm_conv",
    "lstm_endec",
    "mantranet",
    "resampling",
    "srm_cnn",
)
