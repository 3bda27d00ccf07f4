"""fewshot.store"""
