//! How each KPI rolls up from months to a longer span (the monthly report's year to date),
//! and which way it should move (whether a rise is good news): one declaration of each per
//! KPI id, kept beside the catalog rather than in it.
//!
//! The rules follow `KPIS.md`: additive counts and amounts are summed, ratios are the ratio of
//! the summed numerators and denominators (never the mean of monthly rates), numbers taken at
//! a period's end are read from the latest month, and unique counts (visitors) cannot be
//! rolled up from monthly uniques at all.

use super::Cell;

/// How a KPI's monthly values combine into one value for several months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// Additive counts and amounts: the sum of the months.
    Sum,
    /// Ratios and averages: `sum(numerator) / sum(denominator)` over the months. The rows
    /// must store `value = numerator / denominator`, as every ratio KPI does.
    RatioOfSums,
    /// A number taken at the period's end (active subscriptions, MRR, a score): the last
    /// month's value, unknown when that month has none (an earlier month's is out of date).
    Latest,
    /// A growth figure `end / start`: the last month's numerator over the first denominator.
    EndOverStart,
    /// Unique counts: the uniques of several months are not the sum of each month's, and
    /// kpisync does not ask upstreams for a year's uniques, so there is no value.
    NotAdditive,
}

impl Rollup {
    /// The name used in the reports' CSV and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rollup::Sum => "sum",
            Rollup::RatioOfSums => "ratio_of_sums",
            Rollup::Latest => "latest",
            Rollup::EndOverStart => "end_over_start",
            Rollup::NotAdditive => "not_additive",
        }
    }

    /// Rolls up `months`, oldest first, one entry per month of the span, a month without a
    /// row as a cell of `None`s. `None` when there is nothing to roll up, when a ratio's summed
    /// denominator is zero, when the last month has no number taken at its end, or for unique
    /// counts.
    pub fn combine(self, months: &[Cell]) -> Option<f64> {
        match self {
            Rollup::Sum => {
                let values: Vec<f64> = months.iter().filter_map(|cell| cell.value).collect();
                (!values.is_empty()).then(|| values.iter().sum())
            }
            Rollup::RatioOfSums => {
                let pairs = months
                    .iter()
                    .filter_map(|cell| cell.numerator.zip(cell.denominator));
                let (top, bottom) = pairs.fold((0.0, 0.0), |(top, bottom), (num, den)| {
                    (top + num, bottom + den)
                });
                (bottom != 0.0).then_some(top / bottom)
            }
            Rollup::Latest => months.last()?.value,
            Rollup::EndOverStart => {
                let start = months.iter().find_map(|cell| cell.denominator)?;
                let end = months.last()?.numerator?;
                (start != 0.0).then_some(end / start)
            }
            Rollup::NotAdditive => None,
        }
    }
}

/// The rollup of a KPI id; `None` for an id that is not in the catalog.
pub fn rollup(id: &str) -> Option<Rollup> {
    use Rollup::{EndOverStart, Latest, NotAdditive, RatioOfSums, Sum};
    Some(match id {
        "acquisition.visitors" | "acquisition.landing_visitors" => NotAdditive,
        "acquisition.sessions" => Sum,
        "acquisition.channel_share" => RatioOfSums,
        "acquisition.newsletter_subscribers" => Latest,
        "acquisition.newsletter_signups" => Sum,
        "acquisition.newsletter_signup_rate" => RatioOfSums,
        "acquisition.prospect_email_open_rate" => RatioOfSums,
        "acquisition.free_signups" => Sum,
        "acquisition.free_signup_rate" => RatioOfSums,
        "acquisition.lead_magnet_downloads" => Sum,
        "acquisition.lead_magnet_rate" => RatioOfSums,

        "conversion.transactional_email_open_rate" => RatioOfSums,
        "conversion.orders" | "conversion.new_subscriptions" => Sum,
        "conversion.app_downloads" | "conversion.contracts_signed" => Sum,
        "conversion.order_rate" | "conversion.subscription_rate" => RatioOfSums,
        "conversion.download_rate" | "conversion.contract_rate" => RatioOfSums,
        "conversion.rate" => RatioOfSums,

        "engagement.customer_email_open_rate" => RatioOfSums,
        "engagement.customer_email_click_rate" => RatioOfSums,
        "engagement.social_followers" => Latest,
        "engagement.social_engagement_rate" => RatioOfSums,
        "engagement.avg_session_seconds" | "engagement.actions_per_user" => RatioOfSums,
        "engagement.active_subscriptions" => Latest,
        // Summed over months these are the average monthly churn and retention, weighted by
        // the subscriptions at each month's start.
        "engagement.churn_rate" | "engagement.retention_rate" => RatioOfSums,
        "engagement.subscriber_growth" => EndOverStart,

        "revenue.gross" | "revenue.refunds" | "revenue.net" | "revenue.fees" => Sum,
        "revenue.average_basket" => RatioOfSums,
        "revenue.mrr" | "revenue.arpu" => Latest,
        // Both count every purchase up to the period's end already.
        "revenue.repeat_purchase_rate" | "revenue.ltv" => Latest,
        "revenue.upsell_email_open_rate" => RatioOfSums,
        "revenue.marketing_spend" => Sum,
        "revenue.cost_per_sale" => RatioOfSums,

        "recommendation.nps" => RatioOfSums,
        "recommendation.nps_responses" => Sum,
        "recommendation.trustpilot_score" => Latest,
        "recommendation.trustpilot_stars_avg" => RatioOfSums,
        "recommendation.reviews" => Sum,
        "recommendation.reviews_total" => Latest,
        "recommendation.social_mentions" => Sum,
        "recommendation.referrals" | "recommendation.referral_conversions" => Sum,
        // Affiliates with a referral: a unique count, like visitors.
        "recommendation.referrers" => NotAdditive,
        _ => return None,
    })
}

/// Which way a KPI should move: whether a rise from one period to the next is good news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// More is better: sales, sign-ups, open rates, retention.
    HigherIsBetter,
    /// Less is better: refunds, fees, churn, cost per sale.
    LowerIsBetter,
    /// Neither way is good or bad in itself: a share of the traffic moving between channels,
    /// a budget spent.
    Neutral,
}

/// Which way the KPI `id` should move; `None` for an id that is not in the catalog, so that a
/// new KPI must be given a direction here (a test checks every one has).
pub fn direction(id: &str) -> Option<Direction> {
    use Direction::{HigherIsBetter as Higher, LowerIsBetter as Lower, Neutral};
    Some(match id {
        "acquisition.visitors" | "acquisition.landing_visitors" => Higher,
        "acquisition.sessions" => Higher,
        // Channels take traffic from each other: one's share rising is no news in itself.
        "acquisition.channel_share" => Neutral,
        "acquisition.newsletter_subscribers" | "acquisition.newsletter_signups" => Higher,
        "acquisition.newsletter_signup_rate" | "acquisition.prospect_email_open_rate" => Higher,
        "acquisition.free_signups" | "acquisition.free_signup_rate" => Higher,
        "acquisition.lead_magnet_downloads" | "acquisition.lead_magnet_rate" => Higher,

        "conversion.transactional_email_open_rate" => Higher,
        "conversion.orders" | "conversion.new_subscriptions" => Higher,
        "conversion.app_downloads" | "conversion.contracts_signed" => Higher,
        "conversion.order_rate" | "conversion.subscription_rate" => Higher,
        "conversion.download_rate" | "conversion.contract_rate" => Higher,
        "conversion.rate" => Higher,

        "engagement.customer_email_open_rate" => Higher,
        "engagement.customer_email_click_rate" => Higher,
        "engagement.social_followers" | "engagement.social_engagement_rate" => Higher,
        "engagement.avg_session_seconds" | "engagement.actions_per_user" => Higher,
        "engagement.active_subscriptions" => Higher,
        "engagement.churn_rate" => Lower,
        "engagement.retention_rate" | "engagement.subscriber_growth" => Higher,

        "revenue.gross" | "revenue.net" => Higher,
        "revenue.refunds" | "revenue.fees" => Lower,
        "revenue.average_basket" | "revenue.mrr" | "revenue.arpu" => Higher,
        "revenue.repeat_purchase_rate" | "revenue.ltv" => Higher,
        "revenue.upsell_email_open_rate" => Higher,
        // A budget: whether spending more paid off shows in the cost per sale.
        "revenue.marketing_spend" => Neutral,
        "revenue.cost_per_sale" => Lower,

        "recommendation.nps" | "recommendation.nps_responses" => Higher,
        "recommendation.trustpilot_score" | "recommendation.trustpilot_stars_avg" => Higher,
        "recommendation.reviews" | "recommendation.reviews_total" => Higher,
        "recommendation.social_mentions" => Higher,
        "recommendation.referrals" | "recommendation.referral_conversions" => Higher,
        "recommendation.referrers" => Higher,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::catalog;

    fn ratio(numerator: f64, denominator: f64) -> Cell {
        Cell::ratio(Some(numerator), Some(denominator))
    }

    #[test]
    fn every_catalog_kpi_declares_how_it_rolls_up() {
        let missing: Vec<&str> = catalog()
            .iter()
            .map(|def| def.id)
            .filter(|id| rollup(id).is_none())
            .collect();
        assert!(missing.is_empty(), "no rollup declared for {missing:?}");
    }

    #[test]
    fn every_catalog_kpi_declares_which_way_is_good() {
        let missing: Vec<&str> = catalog()
            .iter()
            .map(|def| def.id)
            .filter(|id| direction(id).is_none())
            .collect();
        assert!(missing.is_empty(), "no direction declared for {missing:?}");
        assert_eq!(direction("revenue.magic"), None);
    }

    #[test]
    fn costs_and_churn_are_better_lower() {
        for id in [
            "engagement.churn_rate",
            "revenue.refunds",
            "revenue.fees",
            "revenue.cost_per_sale",
        ] {
            assert_eq!(direction(id), Some(Direction::LowerIsBetter), "{id}");
        }
        assert_eq!(direction("revenue.gross"), Some(Direction::HigherIsBetter));
        assert_eq!(
            direction("engagement.retention_rate"),
            Some(Direction::HigherIsBetter)
        );
        assert_eq!(
            direction("acquisition.channel_share"),
            Some(Direction::Neutral)
        );
    }

    #[test]
    fn year_to_date_of_a_ratio_is_the_ratio_of_sums() {
        // 1 / 10 then 30 / 100: the mean of the rates would be 20 %, the ratio of sums 31/110.
        let months = [ratio(1.0, 10.0), ratio(30.0, 100.0)];
        let ytd = Rollup::RatioOfSums.combine(&months).unwrap();
        assert!((ytd - 31.0 / 110.0).abs() < 1e-12, "{ytd}");
    }

    #[test]
    fn a_ratio_over_empty_denominators_is_unknown() {
        let months = [ratio(0.0, 0.0), Cell::ratio(None, None)];
        assert_eq!(Rollup::RatioOfSums.combine(&months), None);
    }

    #[test]
    fn sums_latest_growth_and_uniques_roll_up_their_own_way() {
        let months = [Cell::plain(100.0), Cell::plain(-30.5), Cell::plain(12.0)];
        assert_eq!(Rollup::Sum.combine(&months), Some(81.5));
        assert_eq!(Rollup::Latest.combine(&months), Some(12.0));
        assert_eq!(Rollup::NotAdditive.combine(&months), None);
        assert_eq!(Rollup::Sum.combine(&[]), None);

        // 10 active at the start of January, 12 at the end of January, 15 at the end of March.
        let growth = [ratio(12.0, 10.0), ratio(13.0, 12.0), ratio(15.0, 13.0)];
        assert_eq!(Rollup::EndOverStart.combine(&growth), Some(1.5));
    }

    #[test]
    fn a_number_at_the_periods_end_is_the_last_months_or_unknown() {
        let no_row = Cell::ratio(None, None);
        let unknown = Cell::ratio(Some(46.0), Some(0.0));
        assert_eq!(Rollup::Latest.combine(&[Cell::plain(12.0), no_row]), None);
        assert_eq!(Rollup::Latest.combine(&[Cell::plain(12.0), unknown]), None);
        let growth = [ratio(12.0, 10.0), ratio(15.0, 12.0), no_row];
        assert_eq!(Rollup::EndOverStart.combine(&growth), None);
        // A month without a row adds nothing to a sum or a ratio of sums.
        assert_eq!(Rollup::Sum.combine(&[Cell::plain(5.0), no_row]), Some(5.0));
        let rates = [no_row, ratio(1.0, 4.0)];
        assert_eq!(Rollup::RatioOfSums.combine(&rates), Some(0.25));
    }
}
