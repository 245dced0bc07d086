"""Matching pending tasks to resource offers: offers, demands, constraints, tiers, first fit."""
