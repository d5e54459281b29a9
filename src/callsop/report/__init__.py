"""How scorecards and the catalogue are shown: JSON Lines and zh-Hant tables."""
