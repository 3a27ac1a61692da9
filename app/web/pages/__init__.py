"""Page controllers: one module per page group, each a thin handler over small view-model builders."""
