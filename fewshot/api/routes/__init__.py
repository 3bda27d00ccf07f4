"""fewshot.api.routes"""
