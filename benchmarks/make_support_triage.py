"""Write datasets/support_triage.jsonl: 160 hand-written support messages, 40 per label, ~30% governed by house rules.

The messages are written for promptlearn (not copied from any dataset). Run from the repo root:
    python benchmarks/make_support_triage.py
The shuffle is seeded, so the file is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# House rules a model cannot guess without being told (see datasets/README.md):
# R1 a refund or charge for a damaged, lost or never-delivered parcel is SHIPPING, not BILLING
# R2 cannot log in because the password-reset / verification email never arrives is ACCOUNT, not BUG
# R3 the app or site crashes / errors while paying (and nothing was wrongly charged) is BUG, not BILLING
# R4 changing the delivery address of an order already placed is SHIPPING; the address on the profile is ACCOUNT
# R5 a wrong charge (double charge, wrong amount, a fee not chosen) is BILLING even when blamed on a glitch or delivery

BILLING = [
    "I was charged for the Pro plan but I'm on the Basic plan. Can you fix the invoice?",
    "how do i get a copy of my invoice from march? need it for expenses",
    "My card was declined when renewing but the bank says everything is fine on their side. Can you retry the charge?",
    "Please cancel my subscription before the next billing date. I don't want to be charged again.",
    "Can I switch from monthly to annual billing and get the discount?",
    "There's a charge of $49.99 on my statement from you guys and I have no idea what it's for.",
    "I'd like to update the credit card you have on file, the old one expired last month.",
    "Do you offer refunds if I cancel halfway through the year?",
    "Your invoice shows VAT but we're a registered business in Germany. Please reissue it with our VAT number.",
    "I used the promo code SPRING20 but the discount wasnt applied to my total.",
    "Why did my subscription price go up from 8 to 12 dollars this month?? Nobody told me anything.",
    "Is it possible to pay by bank transfer instead of card? Our finance team doesn't allow company cards.",
    "I got charged after my free trial ended even though I cancelled on day 5.",
    "Could you send me a receipt for order 48213? I deleted the email by mistake.",
    "We need a PO number printed on our invoices from now on. Who can set that up?",
    "One of your agents promised me a $15 credit last week and it's not on my bill.",
    "How much is the family plan per month, and can I pay with PayPal?",
    "Hi, I havent recieved the refund for my cancelled subscription and it's been 10 days. When will I see it?",
    "I'm billed in USD but I live in Canada. Can I be billed in CAD instead?",
    "I want to downgrade to the free tier at the end of this billing cycle.",
    "I have a gift card and I'd like to use it for my next payment. How do I apply it?",
    "Unauthorized charge!!! I never signed up for any premium anything. Refund it now.",
    "Can we split the annual payment into quarterly installments?",
    "The amount on my invoice doesn't match the price listed on your website.",
    "do students get a discount on the subscription? i have a .edu email",
    "Please turn off auto-renewal, I'd rather pay manually each year.",
    "I bought an ebook by accident yesterday and haven't opened it. Could I get my money back?",
    "Our company was invoiced for 12 seats but we only have 9 users.",
]

BILLING_RULES = [  # R5
    "The app glitched and I think it charged me twice for the same order. I see two identical payments on my card.",
    "Your checkout must be broken because I was charged $89 instead of the $59 sale price.",
    "I was charged $12.99 for express shipping but I picked standard shipping.",
    "My package arrived fine, but I was billed for shipping even though my membership includes free shipping.",
    "Some bug in your system keeps charging my card every month even though I cancelled in January.",
    "Order arrived on time, no issues there, but the receipt shows a $5 handling fee I never agreed to.",
    "I think there's an error on your website, the tax on my order is like 40%. That can't be right.",
    "After the update the app charged me the annual price instead of the monthly one. pls fix",
    "Delivery was great. But the receipt charges me for two cushions and I only ordered one (only one was in the box).",
    "The payment page timed out, I clicked pay again, and now there are two charges on my statement.",
    "Your system is clearly buggy: it charged my old card, the one I removed last month, instead of the new one.",
    "My coupon for free delivery was accepted at checkout but I still paid the delivery fee.",
]

BUG = [
    "The search bar doesn't return any results anymore, even for products I know you sell.",
    "When I open the app on my Android phone it just shows a white screen and nothing loads.",
    "The dark mode setting resets every time I restart the app.",
    "Clicking 'Export to CSV' downloads an empty file.",
    "All the pictures in the product gallery show as broken images since yesterday.",
    "the app crashes every time i try to upload a profile photo",
    "Notifications arrive three times for each message. Very annoying.",
    "Your size filter doesn't work. I select M and it still shows XL shirts.",
    "The page jumps back to the top by itself whenever I type in the review box.",
    "I get Error 500 when I open my order history page.",
    "App freezes on the loading spinner after the latest update (version 4.2.1, iPhone 13).",
    "The 'Add to wishlist' heart button does nothing on Firefox.",
    "Text on the settings screen overlaps and is unreadable when the app is in Spanish.",
    "Hi, the chat widget on your site covers the 'Next' button so I can't finish the survey.",
    "Calendar sync duplicated all my events, now I have each one twice.",
    "Videos in the tutorials section stop playing after about 10 seconds.",
    "I get 'Something went wrong' whenever I try to leave a product review.",
    "Since the last update the app drains my battery like crazy, even in the background.",
    "Sorting by price low to high shows the most expensive items first lol",
    "On the iPad, if I rotate to landscape the buttons stop responding.",
    "When I switch the language to French half the menu stays in English.",
    "The barcode scanner won't open the camera even though I gave the app permission.",
    "The map on your store locator page is just a grey box.",
    "Typing an emoji in any text field makes the whole form clear itself.",
    "The upload progress bar goes past 100% and then the upload fails anyway.",
    "Tapping a push notification opens the wrong product page every single time.",
    "The cart screen shows every price as NaN. Screenshot attached.",
    "On my Pixel 7 the keyboard covers the feedback form so I can't see what I'm typing.",
]

BUG_RULES = [  # R3
    "Every time I hit 'Pay now' the app crashes and closes. I haven't been able to pay my bill at all.",
    "Checkout freezes at the payment step in Chrome. Nothing was charged, I just can't complete the purchase.",
    "The app closes itself when I try to add a new credit card on the payment screen.",
    "I tried to pay my invoice three times and got 'unexpected error' each time. No charge went through.",
    "The Apple Pay button does nothing when I tap it, so I can't pay for my renewal.",
    "trying to renew my plan but the payment form keeps crashing the app on my samsung",
    "When I enter my card details the 'Confirm payment' button stays grey even though every field is filled in.",
    "The billing page is a blank screen. I want to pay my overdue balance but I literally can't see the form.",
    "Your checkout throws 'undefined is not a function' when I click Purchase. My card was not charged.",
    "The upgrade-to-Pro payment popup crashes my browser tab every time.",
    "I can't pay with PayPal: the window opens, closes immediately, and then the app crashes.",
    "The app crashed in the middle of paying. My bank shows nothing taken, but I still can't place the order.",
]

ACCOUNT = [
    "How do I change the email address on my account?",
    "I want to delete my account and all my data, please.",
    "Can I add my husband as a second user on our account?",
    "I forgot my username. Can you tell me which one is linked to this email?",
    "How do I turn on two-factor authentication?",
    "Someone logged into my account from another country. I think I've been hacked!",
    "Please change the name on my profile. I got married and my last name is different now.",
    "my account got locked after too many login attempts, how long until I can try again?",
    "Can I merge my two accounts? I accidentally made one with my work email.",
    "I'd like to stop getting your marketing emails.",
    "How do I download a copy of all the personal data you hold about me?",
    "I changed phones and lost my authenticator app, now I can't get past the 2FA screen.",
    "Can you transfer my account to a colleague? I'm leaving the company.",
    "I want to change the phone number on file.",
    "Is there a way to make my profile private so other users can't see my reviews?",
    "I signed up with Google but I'd like to set a regular password instead.",
    "Please reactivate my account. I closed it last month by mistake.",
    "My teenage son made an account with my email address. Can you separate his from mine?",
    "How do I change my password? I can't find it anywhere in settings.",
    "Why does my account say 'unverified'? I've been a customer for years.",
    "My date of birth is wrong on my profile and I can't edit it.",
    "can u remove my old work email from my account, I dont have access to it anymore",
    "Which setting controls the email address that gets my notifications?",
    "I'd like to change my display name to something that isn't my real name.",
    "How many devices can be signed in to one account at the same time?",
    "Please close my account. I'm moving abroad and won't use the service anymore.",
    "Our admin left the company. How do we make someone else the account owner?",
    "Can I log in with my phone number instead of my email?",
]

ACCOUNT_RULES = [  # R2 then R4 (profile address)
    "I can't log in. I clicked 'forgot password' four times and the reset email never shows up, not even in spam. "
    "Is your site broken?",
    "Password reset emails aren't arriving. I think your email system has a bug.",
    "Locked out of my account. I requested a reset link an hour ago and there's still nothing in my inbox.",
    "The reset page says an email was sent but I never get it. Checked spam and promotions too.",
    "ur password reset is broken, no email comes and now i cant sign in to check my orders",
    "Trying to sign in on my new laptop but the verification code email never arrives, so I'm stuck on the login "
    "screen.",
    "I need to get into my account urgently to download an invoice, but the password reset mail isn't coming through.",
    "I moved house. How do I update my home address in my profile?",
    "Please change the default address saved on my account to 14 Elm Road, Leeds.",
    "I want to remove an old address from my saved addresses, I don't live there anymore.",
    "No open orders right now, I just want my profile to show my new address for future purchases.",
    "Can you update the address on my account? Nothing is on its way, it's just for next time.",
]

SHIPPING = [
    "Where is my order? It's been 8 days and the tracking hasn't updated.",
    "Do you ship to Norway?",
    "Tracking says delivered but there's nothing at my door.",
    "How long does standard delivery take to Ireland?",
    "Can I pick up my order from a store instead of having it delivered?",
    "The courier left my parcel with a neighbour but didn't say which one. How do I find out?",
    "Is express delivery available for orders placed on weekends?",
    "My order was split into two packages and only one has arrived.",
    "Could you ship it in plain packaging? It's a surprise gift.",
    "the tracking link you sent goes to a different carrier than the one on the label??",
    "Can I choose a delivery day? I'm away until Friday.",
    "My package has been stuck in customs for two weeks. What do I need to do?",
    "Do you deliver to PO boxes?",
    "Order 55102 still says 'processing' after 5 days. When will it ship?",
    "I need this by Saturday for a birthday. Is there a faster shipping option?",
    "The driver said he couldn't find my building. Can you add directions for the next delivery attempt?",
    "Which carrier do you use for international orders?",
    "I'm going to miss the delivery tomorrow, can the courier leave it at the back door?",
    "Is it possible to combine my two orders into one shipment?",
    "My parcel has been 'out for delivery' since Monday.",
    "Do you offer same-day delivery in central London?",
    "The box arrived opened and re-taped. Everything seems to be inside though.",
    "Why does the tracking show my package heading to a city 300 miles away?",
    "Hello, does the delivery need a signature? I work during the day.",
    "I pre-ordered the blue version. Any idea when it will ship?",
    "my parcel was returned to sender, why?? I was home all day",
    "Is there a weight limit for international shipping?",
    "I never got a tracking number for order 77310, can you send it?",
]

SHIPPING_RULES = [  # R1 then R4 (order address)
    "My order arrived smashed, the vase is in pieces. I want my money back.",
    "The package never arrived and tracking has been frozen for 3 weeks. Please refund the charge to my card.",
    "Two of the glasses in the set were broken in transit. Can I get a partial refund?",
    "I was charged for an order that got lost in the mail. I want a refund, not a replacement.",
    "The box was soaked through and the book inside is ruined. Can you credit my card?",
    "The courier marked it delivered but it never came. Can you reverse the payment?",
    "ordered a lamp, it arrived with a cracked base. refund pls, I don't want another one",
    "I just placed an order but used my old address. Can you change it to my new one before it ships?",
    "Can you redirect order 90211 to my office at 5 Market St? It hasn't shipped yet.",
    "Typo in the delivery adress on this morning's order: it's flat 4B, not 48. Please fix it before dispatch.",
    "Can my order be delivered to my parents' house instead? I already placed it but I'll be there that week.",
    "Oops, the order I placed yesterday is going to my old apartment. Please update the address for that order only.",
]

GROUPS = {
    "BILLING": BILLING + BILLING_RULES,
    "BUG": BUG + BUG_RULES,
    "ACCOUNT": ACCOUNT + ACCOUNT_RULES,
    "SHIPPING": SHIPPING + SHIPPING_RULES,
}


def rows() -> list[dict[str, str]]:
    out = [{"input": text, "target": label} for label, texts in GROUPS.items() for text in texts]
    random.Random(20240613).shuffle(out)
    return out


def main() -> None:
    data = rows()
    texts = [row["input"] for row in data]
    assert len(data) == 160 and len(set(texts)) == len(texts), "expected 160 distinct messages"
    assert all(len(texts) == 40 for texts in GROUPS.values()), "expected 40 messages per label"
    path = Path(__file__).resolve().parents[1] / "datasets" / "support_triage.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in data), encoding="utf-8")
    print(f"wrote {len(data)} rows to {path}")


if __name__ == "__main__":
    main()
