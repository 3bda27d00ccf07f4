"""fewshot.annotate"""
