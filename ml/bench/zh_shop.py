"""A small Chinese shop knowledge base with questions, for the per-language retrieval table
of ``ml.bench.answer``: the demo shop's Chinese articles plus short ones on other topics
(so the right article has to be found among look-alikes), two or three questions each,
written for this bench (no licence restrictions)."""

from __future__ import annotations

from ml.demo import DEMO_ARTICLES_ZH

EXTRA_ARTICLES_ZH: list[dict[str, str]] = [
    {"title": "礼品卡", "body": "礼品卡面值有 25、50 和 100 美元，自购买之日起三年内有效。礼品卡不能兑换现金。"},
    {"title": "会员积分", "body": "会员每消费 1 美元获得 1 积分。满 100 积分可在结账时抵扣 5 美元。"},
    {"title": "门店营业时间", "body": "我们的客服团队周一至周五 9:00 至 18:00 在线。法定节假日休息。"},
    {"title": "修改收货地址", "body": "订单发货前可以在账户中修改收货地址。发货后请联系承运商修改地址。"},
    {"title": "发票", "body": "电子发票会在订单发货后发送到您的邮箱。如需纸质发票，请联系客服。"},
    {"title": "商品缺货", "body": "缺货商品可以点击“到货通知”。商品补货后我们会通过电子邮件通知您。"},
    {"title": "账户密码", "body": "忘记密码时，请在登录页面点击“忘记密码”。我们会发送重置链接，链接一小时内有效。"},
    {"title": "删除账户", "body": "如需删除账户，请在设置中选择“隐私”，然后点击“删除账户”。您的数据会在 30 天内删除。"},
    {"title": "价格保护", "body": "下单后 14 天内如果商品降价，我们会退还差价。促销活动和清仓商品除外。"},
    {"title": "包装与环保", "body": "我们使用可回收的纸质包装，不使用塑料填充物。"},
    {"title": "尺码指南", "body": "每个服装商品页面都有尺码表。如果尺码不合适，可以在 30 天内免费换货。"},
    {"title": "订单跟踪", "body": "订单发货后，您可以在账户的“我的订单”中查看物流信息和跟踪号。"},
]

# (question, title of the article that answers it)
QUESTIONS_ZH: list[tuple[str, str]] = [
    ("我想退货，需要多长时间？", "退货和退款"),
    ("退款多久能到账？", "退货和退款"),
    ("怎么申请退货？", "退货和退款"),
    ("运费是多少？", "配送时间和运费"),
    ("标准配送要几天？", "配送时间和运费"),
    ("你们配送到加拿大吗？", "配送时间和运费"),
    ("可以用 PayPal 付款吗？", "付款方式"),
    ("什么时候扣款？", "付款方式"),
    ("电子产品保修多久？", "保修"),
    ("进水损坏在保修范围内吗？", "保修"),
    ("订单发货后还能取消吗？", "修改或取消订单"),
    ("怎么取消订单？", "修改或取消订单"),
    ("礼品卡有效期多久？", "礼品卡"),
    ("礼品卡可以换现金吗？", "礼品卡"),
    ("积分怎么用？", "会员积分"),
    ("消费一美元能得多少积分？", "会员积分"),
    ("客服几点上班？", "门店营业时间"),
    ("周末有客服吗？", "门店营业时间"),
    ("我想改收货地址", "修改收货地址"),
    ("发货后还能改地址吗？", "修改收货地址"),
    ("怎么开发票？", "发票"),
    ("可以要纸质发票吗？", "发票"),
    ("商品缺货什么时候补货？", "商品缺货"),
    ("到货通知怎么设置？", "商品缺货"),
    ("忘记密码怎么办？", "账户密码"),
    ("重置链接多久有效？", "账户密码"),
    ("怎么注销账户？", "删除账户"),
    ("删除账户后数据会保留吗？", "删除账户"),
    ("买完就降价了，能退差价吗？", "价格保护"),
    ("包装用塑料吗？", "包装与环保"),
    ("衣服尺码不合适可以换吗？", "尺码指南"),
    ("在哪里看尺码表？", "尺码指南"),
    ("怎么查看物流信息？", "订单跟踪"),
    ("跟踪号在哪里？", "订单跟踪"),
]


def articles_zh() -> list[dict[str, str]]:
    """Every Chinese article of this bench (the demo's first)."""
    demo = [{"title": str(a["title"]), "body": str(a["body"])} for a in DEMO_ARTICLES_ZH]
    return demo + EXTRA_ARTICLES_ZH
