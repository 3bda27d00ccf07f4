"""fewshot.api"""
