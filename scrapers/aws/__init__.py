"""AWS EC2: on-demand GPU prices from the public Price List Bulk API (no key).

Only a few regions are read: each region's CSV is hundreds of MB (the all-region file is
several GB), streamed line by line. On-demand only: AWS has no anonymous spot price API
(spot history needs signed EC2 calls), so this source publishes no spot offers.
"""

from __future__ import annotations

import logging
from contextlib import aclosing

from providers.base import FetchResult, Offer, PriceBasis, PriceSource
from providers.errors import BadResponse
from scrapers.aws.client import AwsPriceListClient
from scrapers.aws.offers import PRICING_URL, RegionPriceCsv

REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-west-1")

log = logging.getLogger(__name__)


class AwsSource(PriceSource):
    NAME = "aws"
    DISPLAY_NAME = "AWS EC2"
    HOMEPAGE = "https://aws.amazon.com/ec2/"
    PRICING_URL = PRICING_URL
    REQUIRES_KEY = False
    PRICE_BASIS = PriceBasis.INSTANCE
    PRICE_INCLUDES = ('The On-Demand Linux instance per hour: its GPUs, vCPUs and RAM (and instance store, where the type has one); EBS volumes are billed apart.')
    POLL_INTERVAL_SECONDS = 86400  # the bulk files are large and change a few times a month

    async def fetch_offers(self) -> FetchResult:
        client = AwsPriceListClient(self.http)
        urls = await client.region_csv_urls(REGIONS)
        if not urls:
            raise BadResponse("the region index lists none of our regions", provider=self.NAME)
        for region in REGIONS:
            if region not in urls:
                log.warning("%s: region %s is not in the region index; not read", self.NAME, region)
        result = FetchResult()
        offers: dict[str, Offer] = {}
        for region, url in urls.items():
            parser = RegionPriceCsv(region, result, offers)
            async with aclosing(client.csv_lines(url)) as lines:
                async for line in lines:
                    parser.feed(line)
            parser.finish()
        result.offers = list(offers.values())
        return result
