"""fewshot.prompt"""
