"""fewshot.retrieve"""
