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
    "supported_languages": ["en"],
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
