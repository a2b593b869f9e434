"""Local stand-ins for the notification providers (WeCom, Alibaba Cloud, Tencent Cloud).

They verify what the real ones verify — signatures recomputed from the providers' documentation,
tokens, keys, required parameters — and answer in the providers' shapes, so the channels are tested
over real HTTP. Start them with `tests.fakes.providers.run_fake_providers()`.
"""
