"""Small reusable widgets: keyboards, preview, delivery list, bar chart, error banner."""
