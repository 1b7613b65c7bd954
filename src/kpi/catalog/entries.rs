//! The declarations of the catalog, stage by stage in `KPIS.md`'s order, with the inputs
//! several of them share.

use super::super::manual::METRICS;
use super::super::stripe::{BALANCE_TRANSACTIONS as BT, CHARGES, SUBSCRIPTIONS as SUBS};
use super::super::{compute, ga4, manual};
use super::Stage::{Acquisition, Conversion, Engagement, Recommendation, Revenue};
use super::UnitKind::{Count, Money, Number, Ratio, Score, Seconds};
use super::{Input, KpiDef, computed, planned};

const PAYMENTS: Input = Input::Table {
    table: BT,
    what: "amount of type charge or payment, by created",
};

const REFUNDS: Input = Input::Table {
    table: BT,
    what: "-amount of type refund or payment_refund, by created",
};

const ORDERS: Input = Input::Table {
    table: CHARGES,
    what: "status succeeded, captured = 1, amount_captured > 0, by created",
};

const BUYERS: Input = Input::Table {
    table: CHARGES,
    what: "orders keyed by customer, else lower-case billing_email",
};

const PAID_SUBS: Input = Input::Table {
    table: SUBS,
    what: "is_free = 0, status not incomplete(_expired); paying from trial_end, else start_date, \
           until ended_at (or canceled_at when canceled)",
};

const SPEND: Input = manual_metric("marketing_spend");

/// A manual metric of the `metrics` table.
const fn manual_metric(metric: &'static str) -> Input {
    Input::Metric {
        source: crate::warehouse::MANUAL_SOURCE,
        metric,
    }
}

/// A GA4 metric of the `metrics` table.
const fn ga4_metric(metric: &'static str) -> Input {
    Input::Metric {
        source: ga4::SOURCE,
        metric,
    }
}

const VISITORS: Input = Input::Kpi("acquisition.visitors");

const NPS: &[Input] = &[
    manual_metric("nps_promoters"),
    manual_metric("nps_passives"),
    manual_metric("nps_detractors"),
];

pub(super) static CATALOG: [KpiDef; 54] = [
    // Acquisition.
    computed(
        "acquisition.visitors",
        Acquisition,
        Count,
        "unique visitors: GA4 totalUsers asked for the day, ISO week or month itself (a week \
         is never a sum of days), in the GA4 property's days",
        &[METRICS],
        &[ga4_metric("total_users")],
        ga4::visitors,
    ),
    computed(
        "acquisition.sessions",
        Acquisition,
        Count,
        "GA4 sessions",
        &[METRICS],
        &[ga4_metric("sessions")],
        ga4::sessions,
    ),
    computed(
        "acquisition.channel_share",
        Acquisition,
        Ratio,
        "sessions of a default channel group / all sessions, one row per channel \
         (dimension channel=...)",
        &[METRICS],
        &[ga4_metric("sessions")],
        ga4::channel_share,
    ),
    computed(
        "acquisition.landing_visitors",
        Acquisition,
        Count,
        "unique visitors whose landing page is one of business.landing_pages (GA4 totalUsers \
         filtered on landingPage)",
        &[METRICS],
        &[ga4_metric("landing_users")],
        ga4::landing_visitors,
    ),
    computed(
        "acquisition.newsletter_subscribers",
        Acquisition,
        Count,
        "newsletter subscribers at period end: the manual newsletter_subscribers entry of the \
         period",
        &[METRICS],
        &[manual_metric("newsletter_subscribers")],
        manual::newsletter_subscribers,
    ),
    computed(
        "acquisition.newsletter_signups",
        Acquisition,
        Count,
        "new newsletter subscriptions: the manual newsletter_signups entry of the period",
        &[METRICS],
        &[manual_metric("newsletter_signups")],
        manual::newsletter_signups,
    ),
    computed(
        "acquisition.newsletter_signup_rate",
        Acquisition,
        Ratio,
        "newsletter_signups / landing_visitors of the period; / visitors where the period has \
         no landing_visitors row (no business.landing_pages configured)",
        &[METRICS],
        &[
            Input::Kpi("acquisition.newsletter_signups"),
            Input::Kpi("acquisition.landing_visitors"),
            VISITORS,
        ],
        manual::newsletter_signup_rate,
    ),
    planned(
        "acquisition.prospect_email_open_rate",
        Acquisition,
        Ratio,
        "unique opens / delivered, campaigns to prospects",
        &["klaviyo", "activecampaign"],
    ),
    computed(
        "acquisition.free_signups",
        Acquisition,
        Count,
        "subscriptions created in the period on a free plan (is_free = 1) or with a trial; \
         when Stripe holds none at all, GA4 events named connectors.ga4.signup_event",
        &[SUBS, METRICS],
        &[
            Input::Table {
                table: SUBS,
                what: "created, is_free = 1 or trial_start set",
            },
            ga4_metric("sign_ups"),
        ],
        compute::free_signups,
    ),
    computed(
        "acquisition.free_signup_rate",
        Acquisition,
        Ratio,
        "free_signups / visitors",
        &[SUBS, METRICS],
        &[Input::Kpi("acquisition.free_signups"), VISITORS],
        ga4::free_signup_rate,
    ),
    computed(
        "acquisition.lead_magnet_downloads",
        Acquisition,
        Count,
        "GA4 events named connectors.ga4.lead_event; in a period with a manual \
         lead_magnet_downloads entry, that entry instead (never added to GA4's count)",
        &[METRICS],
        &[
            ga4_metric("lead_magnet_downloads"),
            manual_metric("lead_magnet_downloads"),
        ],
        manual::lead_magnet_downloads,
    ),
    computed(
        "acquisition.lead_magnet_rate",
        Acquisition,
        Ratio,
        "lead_magnet_downloads / popup_displays where a manual popup_displays entry exists for \
         the period, else / visitors",
        &[METRICS],
        &[
            Input::Kpi("acquisition.lead_magnet_downloads"),
            manual_metric("popup_displays"),
            VISITORS,
        ],
        manual::lead_magnet_rate,
    ),
    // Conversion.
    planned(
        "conversion.transactional_email_open_rate",
        Conversion,
        Ratio,
        "unique opens / delivered, transactional flows",
        &["klaviyo", "activecampaign"],
    ),
    computed(
        "conversion.orders",
        Conversion,
        Count,
        "charges that succeeded, were captured and have amount_captured > 0, on their creation \
         date; a later refund does not remove them",
        &[CHARGES],
        &[ORDERS],
        compute::orders,
    ),
    computed(
        "conversion.order_rate",
        Conversion,
        Ratio,
        "orders / visitors (the ecommerce headline rate)",
        &[CHARGES, METRICS],
        &[Input::Kpi("conversion.orders"), VISITORS],
        ga4::order_rate,
    ),
    computed(
        "conversion.new_subscriptions",
        Conversion,
        Count,
        "paid subscriptions whose paying started in the period (at trial_end for a trial, else \
         at start_date), up to now, and that had not ended by then",
        &[SUBS],
        &[PAID_SUBS],
        compute::new_subscriptions,
    ),
    computed(
        "conversion.subscription_rate",
        Conversion,
        Ratio,
        "new_subscriptions / visitors (the saas headline rate)",
        &[SUBS, METRICS],
        &[Input::Kpi("conversion.new_subscriptions"), VISITORS],
        ga4::subscription_rate,
    ),
    computed(
        "conversion.app_downloads",
        Conversion,
        Count,
        "app installs: GA4 events named connectors.ga4.app_install_event (first_open for the \
         app model); in a period with a manual app_downloads entry, that entry instead (never \
         added to GA4's count)",
        &[METRICS],
        &[ga4_metric("app_downloads"), manual_metric("app_downloads")],
        manual::app_downloads,
    ),
    computed(
        "conversion.download_rate",
        Conversion,
        Ratio,
        "app_downloads / visitors (the app headline rate)",
        &[METRICS],
        &[Input::Kpi("conversion.app_downloads"), VISITORS],
        ga4::download_rate,
    ),
    computed(
        "conversion.contracts_signed",
        Conversion,
        Count,
        "deals won: the manual contracts_signed entry of the period",
        &[METRICS],
        &[manual_metric("contracts_signed")],
        manual::contracts_signed,
    ),
    computed(
        "conversion.contract_rate",
        Conversion,
        Ratio,
        "contracts_signed / demos where a manual demos entry exists for the period, else \
         / visitors (the b2b headline rate)",
        &[METRICS],
        &[
            Input::Kpi("conversion.contracts_signed"),
            manual_metric("demos"),
            VISITORS,
        ],
        manual::contract_rate,
    ),
    computed(
        "conversion.rate",
        Conversion,
        Ratio,
        "the business model's headline rate: order_rate (ecommerce), subscription_rate \
         (saas), download_rate (app) or contract_rate (b2b)",
        &[CHARGES, SUBS, METRICS],
        &[
            Input::Kpi("conversion.order_rate"),
            Input::Kpi("conversion.subscription_rate"),
            Input::Kpi("conversion.download_rate"),
            Input::Kpi("conversion.contract_rate"),
        ],
        ga4::headline_rate,
    ),
    // Engagement.
    planned(
        "engagement.customer_email_open_rate",
        Engagement,
        Ratio,
        "unique opens / delivered, campaigns to customers",
        &["klaviyo", "activecampaign"],
    ),
    planned(
        "engagement.customer_email_click_rate",
        Engagement,
        Ratio,
        "unique clicks / delivered, campaigns to customers",
        &["klaviyo", "activecampaign"],
    ),
    computed(
        "engagement.social_followers",
        Engagement,
        Count,
        "followers at period end, per network (dimension network=...): the manual \
         social_followers entries of the period",
        &[METRICS],
        &[manual_metric("social_followers")],
        manual::social_followers,
    ),
    computed(
        "engagement.social_engagement_rate",
        Engagement,
        Ratio,
        "per network: social_engagements / social_impressions of the period, or / \
         social_followers where no impressions are recorded (manual entries)",
        &[METRICS],
        &[
            manual_metric("social_engagements"),
            manual_metric("social_impressions"),
            manual_metric("social_followers"),
        ],
        manual::social_engagement_rate,
    ),
    computed(
        "engagement.avg_session_seconds",
        Engagement,
        Seconds,
        "GA4 userEngagementDuration / sessions, from the period's own totals",
        &[METRICS],
        &[
            ga4_metric("user_engagement_duration"),
            ga4_metric("sessions"),
        ],
        ga4::avg_session_seconds,
    ),
    computed(
        "engagement.actions_per_user",
        Engagement,
        Number,
        "GA4 eventCount / activeUsers, both asked for the period itself",
        &[METRICS],
        &[ga4_metric("event_count"), ga4_metric("active_users")],
        ga4::actions_per_user,
    ),
    computed(
        "engagement.active_subscriptions",
        Engagement,
        Count,
        "paid subscriptions active at the period end (now, for the current period)",
        &[SUBS],
        &[PAID_SUBS],
        compute::active_subscriptions,
    ),
    computed(
        "engagement.churn_rate",
        Engagement,
        Ratio,
        "subscriptions active at the period start that ended by its end / subscriptions active \
         at the period start",
        &[SUBS],
        &[PAID_SUBS],
        compute::churn_rate,
    ),
    computed(
        "engagement.retention_rate",
        Engagement,
        Ratio,
        "1 - churn_rate: subscriptions active at the period start and still active at its end \
         / subscriptions active at the period start",
        &[SUBS],
        &[Input::Kpi("engagement.churn_rate")],
        compute::retention_rate,
    ),
    computed(
        "engagement.subscriber_growth",
        Engagement,
        Ratio,
        "subscriptions active at the period end / subscriptions active at the period start (a \
         growth figure that can exceed 1)",
        &[SUBS],
        &[PAID_SUBS],
        compute::subscriber_growth,
    ),
    // Revenue.
    computed(
        "revenue.gross",
        Revenue,
        Money,
        "sum of amount of the balance transactions of type charge or payment created in the \
         period, in their settlement currency",
        &[BT],
        &[PAYMENTS],
        compute::gross,
    ),
    computed(
        "revenue.refunds",
        Revenue,
        Money,
        "sum of -amount of the balance transactions of type refund or payment_refund created \
         in the period (on the refund's date, not the charge's)",
        &[BT],
        &[REFUNDS],
        compute::refunds,
    ),
    computed(
        "revenue.net",
        Revenue,
        Money,
        "gross - refunds",
        &[BT],
        &[Input::Kpi("revenue.gross"), Input::Kpi("revenue.refunds")],
        compute::net,
    ),
    computed(
        "revenue.fees",
        Revenue,
        Money,
        "sum of fee of every balance transaction created in the period",
        &[BT],
        &[Input::Table {
            table: BT,
            what: "fee of every type, by created",
        }],
        compute::fees,
    ),
    computed(
        "revenue.average_basket",
        Revenue,
        Money,
        "gross / orders whose balance transaction is in the same currency",
        &[BT, CHARGES],
        &[
            Input::Kpi("revenue.gross"),
            Input::Kpi("conversion.orders"),
            Input::Table {
                table: CHARGES,
                what: "balance_transaction, for the settlement currency",
            },
        ],
        compute::average_basket,
    ),
    computed(
        "revenue.mrr",
        Revenue,
        Money,
        "sum of monthly_amount of the subscriptions active at the period end, per subscription \
         currency",
        &[SUBS],
        &[
            PAID_SUBS,
            Input::Table {
                table: SUBS,
                what: "monthly_amount, currency",
            },
        ],
        compute::mrr,
    ),
    computed(
        "revenue.arpu",
        Revenue,
        Money,
        "mrr / active subscriptions in the same currency",
        &[SUBS],
        &[
            Input::Kpi("revenue.mrr"),
            Input::Kpi("engagement.active_subscriptions"),
        ],
        compute::arpu,
    ),
    computed(
        "revenue.repeat_purchase_rate",
        Revenue,
        Ratio,
        "buyers with 2 orders or more before the period end / buyers with at least 1; a buyer \
         is the Stripe customer, else the billing e-mail, else the order is left out",
        &[CHARGES],
        &[ORDERS, BUYERS],
        compute::repeat_purchase_rate,
    ),
    computed(
        "revenue.ltv",
        Revenue,
        Money,
        "saas: arpu / churn_rate, monthly only. Other models: lifetime gross - refunds up to \
         the period end / buyers with an order settled in that currency by then",
        &[BT, CHARGES, SUBS],
        &[
            Input::Kpi("revenue.arpu"),
            Input::Kpi("engagement.churn_rate"),
            PAYMENTS,
            REFUNDS,
            BUYERS,
        ],
        compute::ltv,
    ),
    planned(
        "revenue.upsell_email_open_rate",
        Revenue,
        Ratio,
        "unique opens / delivered, upsell flows and campaigns",
        &["klaviyo", "activecampaign"],
    ),
    computed(
        "revenue.marketing_spend",
        Revenue,
        Money,
        "the manual marketing_spend entry of the same grain and period (a month's entry feeds \
         the month only)",
        &[METRICS],
        &[SPEND],
        compute::marketing_spend,
    ),
    computed(
        "revenue.cost_per_sale",
        Revenue,
        Money,
        "marketing_spend / orders (saas: / new_subscriptions), where spend is recorded",
        &[METRICS, CHARGES, SUBS],
        &[
            Input::Kpi("revenue.marketing_spend"),
            Input::Kpi("conversion.orders"),
            Input::Kpi("conversion.new_subscriptions"),
        ],
        compute::cost_per_sale,
    ),
    // Recommendation.
    computed(
        "recommendation.nps",
        Recommendation,
        Score,
        "100 x (promoters - detractors) / (promoters + passives + detractors), from the manual \
         entries of the period (an unrecorded one of the three counts as 0); the numerator is \
         stored times 100",
        &[METRICS],
        NPS,
        manual::nps,
    ),
    computed(
        "recommendation.nps_responses",
        Recommendation,
        Count,
        "NPS answers received: promoters + passives + detractors recorded for the period",
        &[METRICS],
        NPS,
        manual::nps_responses,
    ),
    planned(
        "recommendation.trustpilot_score",
        Recommendation,
        Score,
        "TrustScore at period end",
        &["trustpilot"],
    ),
    planned(
        "recommendation.trustpilot_stars_avg",
        Recommendation,
        Score,
        "mean stars of reviews written in the period",
        &["trustpilot"],
    ),
    planned(
        "recommendation.reviews",
        Recommendation,
        Count,
        "reviews written in the period",
        &["trustpilot"],
    ),
    planned(
        "recommendation.reviews_total",
        Recommendation,
        Count,
        "reviews in total at period end",
        &["trustpilot"],
    ),
    computed(
        "recommendation.social_mentions",
        Recommendation,
        Count,
        "brand mentions on social networks: one row per network (dimension network=...) and \
         a total over the networks recorded for the period (dimension '')",
        &[METRICS],
        &[manual_metric("social_mentions")],
        manual::social_mentions,
    ),
    planned(
        "recommendation.referrals",
        Recommendation,
        Count,
        "referred visitors who became leads or customers",
        &["rewardful"],
    ),
    planned(
        "recommendation.referral_conversions",
        Recommendation,
        Count,
        "referrals that became paying customers",
        &["rewardful"],
    ),
    planned(
        "recommendation.referrers",
        Recommendation,
        Count,
        "affiliates with at least one referral",
        &["rewardful"],
    ),
];
