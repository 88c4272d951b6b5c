"""Demo content for an online shop: knowledge articles, intents, policy and the
order-status action. Used by ``manage.py seed_demo`` and by tests."""

from __future__ import annotations

DEMO_ARTICLES = [
    {
        "title": "Returns and refunds",
        "tags": ["returns", "refunds"],
        "body": (
            "# Returns and refunds\n\n"
            "You can return an item within 30 days of delivery. Items must be unused and in their original "
            "packaging.\n\n"
            "To start a return, open your order in your account and choose \"Return item\". We e-mail you a "
            "prepaid return label.\n\n"
            "## Refunds\n\n"
            "Once we receive the item, we refund the original payment method within 5 business days. "
            "Shipping costs are refunded only when the item arrived damaged or wrong."
        ),
    },
    {
        "title": "Shipping times and costs",
        "tags": ["shipping", "delivery"],
        "body": (
            "# Shipping\n\n"
            "Standard shipping takes 3 to 5 business days and costs $4.99. Orders over $50 ship for free.\n\n"
            "Express shipping takes 1 to 2 business days and costs $12.99.\n\n"
            "We ship to the United States, Canada and the European Union. You receive a tracking link by e-mail "
            "as soon as your order leaves our warehouse."
        ),
    },
    {
        "title": "Payment methods",
        "tags": ["payment", "billing"],
        "body": (
            "# Payment methods\n\n"
            "We accept Visa, Mastercard, American Express, PayPal and Apple Pay.\n\n"
            "Your card is charged when your order ships, not when you place it. We do not store your full card "
            "number."
        ),
    },
    {
        "title": "Warranty",
        "tags": ["warranty", "repairs"],
        "body": (
            "# Warranty\n\n"
            "All electronics come with a 2-year warranty against manufacturing defects. The warranty does not "
            "cover accidental damage or water damage.\n\n"
            "To make a warranty claim, contact us with your order number and a photo of the defect."
        ),
    },
    {
        "title": "Changing or cancelling an order",
        "tags": ["orders"],
        "body": (
            "# Changing or cancelling an order\n\n"
            "You can cancel or change an order until it ships. Open the order in your account and choose "
            "\"Cancel order\". Once an order has shipped, it cannot be cancelled, but you can return it."
        ),
    },
]

# The same shop policies in Chinese (language "zh"): Chinese questions are answered from
# these and cite them (MiniLM has almost no Chinese vocabulary, so BM25 over CJK bigrams
# finds them; see ml.retrieval.LANGUAGE_BM25_WEIGHTS).
DEMO_ARTICLES_ZH = [
    {
        "title": "退货和退款",
        "tags": ["returns", "refunds"],
        "language": "zh",
        "body": (
            "# 退货和退款\n\n"
            "收到商品后 30 天内可以申请退货。商品必须未使用，并保留原包装。\n\n"
            "如需退货，请在您的账户中打开订单，选择“退货”。我们会通过电子邮件发送预付费退货标签。\n\n"
            "## 退款\n\n"
            "我们收到退回的商品后，会在 5 个工作日内原路退款。只有当商品到货时已损坏或发错货时，运费才予以退还。"
        ),
    },
    {
        "title": "配送时间和运费",
        "tags": ["shipping", "delivery"],
        "language": "zh",
        "body": (
            "# 配送\n\n"
            "标准配送需要 3 到 5 个工作日，运费 4.99 美元。订单满 50 美元免运费。\n\n"
            "加急配送需要 1 到 2 个工作日，运费 12.99 美元。\n\n"
            "我们配送到美国、加拿大和欧盟。订单从仓库发出后，您会通过电子邮件收到物流跟踪链接。"
        ),
    },
    {
        "title": "付款方式",
        "tags": ["payment", "billing"],
        "language": "zh",
        "body": (
            "# 付款方式\n\n"
            "我们接受 Visa、Mastercard、American Express、PayPal 和 Apple Pay。\n\n"
            "订单发货时才会从您的银行卡扣款，下单时不扣款。我们不会保存您的完整卡号。"
        ),
    },
    {
        "title": "保修",
        "tags": ["warranty", "repairs"],
        "language": "zh",
        "body": (
            "# 保修\n\n"
            "所有电子产品都享有 2 年制造缺陷保修。保修不包括意外损坏或进水损坏。\n\n"
            "如需申请保修，请联系我们并提供订单号和故障照片。"
        ),
    },
    {
        "title": "修改或取消订单",
        "tags": ["orders"],
        "language": "zh",
        "body": (
            "# 修改或取消订单\n\n"
            "订单发货前都可以取消或修改。请在您的账户中打开订单，选择“取消订单”。订单一旦发货就无法取消，但您可以申请退货。"
        ),
    },
]

DEMO_INTENTS = [
    {
        "name": "order_status",
        "description": "Where is my order / tracking",
        "escalates": False,
        "examples": [
            "Where is my order?",
            "Where is my order 1001?",
            "Can you track my package?",
            "Has my order shipped yet?",
            "What's the status of my order?",
            "My parcel hasn't arrived, where is it?",
            "Track order 1002",
        ],
    },
    {
        "name": "returns",
        "description": "Returning items and refunds",
        "escalates": False,
        "examples": [
            "How do I return an item?",
            "How long do I have to return something?",
            "Can I get a refund?",
            "I want to send this back",
            "What is your return policy?",
        ],
    },
    {
        "name": "shipping",
        "description": "Shipping times, costs and destinations",
        "escalates": False,
        "examples": [
            "How long does shipping take?",
            "How much is delivery?",
            "Do you ship to Canada?",
            "Is there free shipping?",
            "Do you have express delivery?",
        ],
    },
    {
        "name": "payment",
        "description": "Payment methods and charges",
        "escalates": False,
        "examples": [
            "Which payment methods do you accept?",
            "Can I pay with PayPal?",
            "When will my card be charged?",
            "Do you take American Express?",
        ],
    },
    {
        "name": "complaint_legal",
        "description": "Legal threats, chargebacks, fraud: always a human",
        "escalates": True,
        "examples": [
            "I will contact my lawyer",
            "I'm going to file a chargeback",
            "This is fraud, I want to report you",
            "I will take legal action",
        ],
    },
]

DEMO_POLICY = {
    "confidence_threshold": 0.35,
    "handoff_on_out_of_scope": True,
    "negative_streak": 2,
    "max_bot_turns": 8,
    "persona": "You are Kefu, the friendly assistant of Demo Shop. Be brief and warm.",
    "guardrails": "Never promise refunds, discounts, delivery dates or prices that are not in the knowledge base.",
    "supported_languages": ["en", "zh"],  # the shop has Chinese articles (DEMO_ARTICLES_ZH)
    "unsupported_language": "handoff",
}

DEMO_ORDER_ACTION = {
    "name": "order_status",
    "description": "Looks up an order in the shop's order system",
    "method": "GET",
    # {base} is settings.PUBLIC_BASE_URL when seeding: the demo server serves this API itself.
    "url_template": "{base}/demo-api/orders/{order_number}",
    "parameters": [{"name": "order_number", "type": "order_number", "required": True,
                    "prompt": "Sure! What is your order number?"}],
    "response_template": "Order {order_number} is {status}. Carrier: {carrier}, tracking number {tracking_number}; "
                         "expected: {eta}.",
    "trigger_intents": ["order_status"],
    # Shipping status by order number, like a carrier's public tracking page: the demo's
    # anonymous visitors may use it, and only these fields are ever shown.
    "response_fields": ["status", "carrier", "tracking_number", "eta"],
    "requires_verified_visitor": False,
    "read_only": True,
    "needs_approval": False,
    "timeout_s": 5.0,
}
