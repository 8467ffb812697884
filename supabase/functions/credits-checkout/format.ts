// Text for people: a price and a package's credits, as checkout shows them on Paystack's payment
// page ("Gold: 50 credits + 5 bonus for KES 4,000.00"). Prices are integers in currency subunits
// (cents), as Paystack expects; the amounts themselves are decided in SQL and only shown here.

/** "KES 4,000.00" for 400000 subunits of KES. */
export function formatMoney(subunits: number, currency: string): string {
  if (!Number.isSafeInteger(subunits)) {
    throw new RangeError(
      `amount must be an integer number of subunits, got ${subunits}`,
    );
  }
  const sign = subunits < 0 ? "-" : "";
  const abs = Math.abs(subunits);
  const major = Math.floor(abs / 100).toString().replace(
    /\B(?=(\d{3})+(?!\d))/g,
    ",",
  );
  const minor = (abs % 100).toString().padStart(2, "0");
  return `${sign}${currency.toUpperCase()} ${major}.${minor}`;
}

/** "50 credits + 5 bonus", "10 credits", "1 credit". */
export function describeCredits(credits: number, bonusCredits: number): string {
  const base = `${credits} credit${credits === 1 ? "" : "s"}`;
  return bonusCredits > 0 ? `${base} + ${bonusCredits} bonus` : base;
}
