"""fewshot.lm"""
